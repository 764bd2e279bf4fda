"""Texts people already get (SMS, app notifications, copied order details) as a way in.

``parse``: one message -> what it says (pickup codes, station, waybill tail, deadline,
waybill numbers with their carrier); pure, stdlib only. ``inbox``: reading messages from
plain text or JSON lines. ``importer``: matching findings against the store and saving them.
"""
