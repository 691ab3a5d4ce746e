import math

from sim.clock import Clock, EventKind


def test_events_run_by_time_then_kind_then_scheduling_order():
    clock, ran = Clock(1.0), []
    clock.schedule(10.0, EventKind.DECISION, lambda: ran.append("decision@10"))
    clock.schedule(10.0, EventKind.TIMER, lambda: ran.append("timer@10 first"))
    clock.schedule(5.0, EventKind.DECISION, lambda: ran.append("decision@5"))
    clock.schedule(10.0, EventKind.TIMER, lambda: ran.append("timer@10 second"))
    clock.schedule(10.0, EventKind.REPORT, lambda: ran.append("report@10"))
    clock.schedule(20.0, EventKind.TIMER, lambda: ran.append("timer@20"))
    assert clock.peek() == 5.0
    for action in clock.due(10.0):
        action()
    assert ran == ["decision@5", "report@10", "timer@10 first", "timer@10 second", "decision@10"]
    assert clock.peek() == 20.0 and len(clock) == 1


def test_an_action_may_schedule_an_event_due_at_once():
    clock, ran = Clock(1.0), []

    def first():
        ran.append("first")
        clock.schedule(3.0, EventKind.TIMER, lambda: ran.append("chained"))

    clock.schedule(3.0, EventKind.TIMER, first)
    for action in clock.due(3.0):
        action()
    assert ran == ["first", "chained"]


def test_peek_by_kind_and_an_empty_clock():
    clock = Clock(1.0)
    assert clock.peek() == math.inf
    clock.schedule(7.0, EventKind.DECISION, lambda: None)
    clock.schedule(9.0, EventKind.TIMER, lambda: None)
    assert clock.peek(EventKind.TIMER) == 9.0
    assert clock.peek(EventKind.REPORT) == math.inf
    assert list(clock.due(6.0)) == []


def test_a_pass_limited_to_some_kinds_stops_at_the_first_other_event():
    clock, ran = Clock(1.0), []
    clock.schedule(4.0, EventKind.REPORT, lambda: ran.append("report"))
    clock.schedule(4.0, EventKind.TIMER, lambda: ran.append("timer"))
    for action in clock.due(4.0, kinds=(EventKind.REPORT,)):
        action()
    assert ran == ["report"] and clock.peek() == 4.0


def test_events_run_at_the_first_step_at_or_after_their_time_in_kind_order():
    clock, ran = Clock(1.0), []
    clock.schedule(11.5, EventKind.DECISION, lambda: ran.append("decision@11.5"))
    clock.schedule(12.0, EventKind.TIMER, lambda: ran.append("timer@12"))
    clock.schedule(11.7, EventKind.TIMER, lambda: ran.append("timer@11.7"))
    clock.schedule(11.2, EventKind.TIMER, lambda: ran.append("timer@11.2"))
    assert clock.peek() == 12.0
    assert list(clock.due(11.9)) == []
    for action in clock.due(12.0):
        action()
    assert ran == ["timer@11.2", "timer@11.7", "timer@12", "decision@11.5"]
