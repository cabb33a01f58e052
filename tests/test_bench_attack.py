"""bench/attack.py's plumbing: each outcome is told apart, by real children that hang, blow up, fail or succeed."""

from __future__ import annotations

import pytest

from tests.bench_scripts import load

attack = load("attack")
GIB = 2**30


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attack-fixtures")
    attack.fixtures(folder)
    return folder


def run(case, fixture_dir, time_limit_s=60.0, memory_limit_bytes=int(3.5 * GIB)):
    return attack.attack(case, fixture_dir, time_limit_s, memory_limit_bytes, processes=False)


def test_a_one_line_refusal_is_clean_and_an_accepted_bad_input_is_wrong(fixture_dir):
    refused = run(attack.E("summary", "nope"), fixture_dir)
    assert (refused.outcome, refused.exit_code) == (attack.CLEAN, 2)
    assert refused.why == "error: unknown model 'nope'; run `python -m explorer list` to see all names"
    accepted = run(attack.E("summary", "lenet5"), fixture_dir)  # a valid command where a refusal was expected
    assert (accepted.outcome, accepted.exit_code) == (attack.WRONG, 0)
    right = run(attack.O("summary", "lenet5", has="416,520"), fixture_dir)  # LeNet-5: 416,520 MACs
    assert right.outcome == attack.CLEAN


def test_a_traceback_a_hang_and_a_blow_up_are_caught(fixture_dir):
    broken = run(attack.API("[][1]"), fixture_dir)  # an IndexError: not a UserError
    assert broken.outcome == attack.TRACEBACK and "IndexError" in broken.why
    endless = run(attack.E("summary", "user_code:Forever", "--input", "4", "--timeout", "0"), fixture_dir,
                  time_limit_s=3.0)
    assert endless.outcome == attack.HANG and 3.0 <= endless.seconds < 30
    greedy = run(attack.API("x = torch.ones(2**30, dtype=torch.float32) + 1"), fixture_dir,  # 8 GiB in two tensors
                 memory_limit_bytes=2 * GIB)
    assert greedy.outcome == attack.BLOW_UP


@pytest.mark.parametrize(("err", "code", "outcome"), [
    ("error: one line\n", 2, attack.CLEAN),
    ("error: first\nerror: second\n", 2, attack.TRACEBACK),  # not one line
    ("bench:  50%|#####     | 1/2 [00:01<00:01]\rbench: 100%|##########| 2/2\nerror: one line\n", 2, attack.CLEAN),
    ("Traceback (most recent call last):\n  File …\nValueError: x\n", 1, attack.TRACEBACK),
    ("MemoryError\n", 1, attack.BLOW_UP),
    ("", -11, attack.TRACEBACK),  # a segmentation fault
])
def test_classify(err, code, outcome):
    case = attack.E("summary", "x")
    assert attack.classify(case, code, "", err, None, 0, GIB)[0] == outcome
