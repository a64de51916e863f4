"""Schedules come due here: the scheduler that fires them (``engine``) and what a firing
submits for each kind of target (``targets``). It runs in ``atelier scheduler`` (an
embedded home) and inside ``atelier server start``; the rules of slots and due times are
in ``services/schedule_slots.py`` and ``services/schedule_times.py``."""
