"""``iocfeed sources``: the SPEC §7 contract (add NAME --kind --url [--interval]; run NAME
exits non-zero when the run failed), and credentials never printed."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

from tests.sources.conftest import FEEDS, FeedServer, feeds

__all__ = ["feeds"]  # the loopback feed server fixture

Run = Callable[..., Result]
SECRET = "hunter2-feed-password"


def test_add_run_list_show(iocfeed: Run, feeds: FeedServer) -> None:
    url = feeds.serve("/csv_recent/", FEEDS / "urlhaus" / "csv_recent.sample.csv")
    added = iocfeed(
        "sources", "add", "urlhaus", "--kind", "urlhaus", "--url", url, "--interval", "900",
        "--basic", f"reader:{SECRET}",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    ran = iocfeed("sources", "run", "urlhaus")
    assert ran.exit_code == 0, ran.output
    assert "succeeded: 40 added, 0 updated, 0 unchanged, 0 rejected, 0 revoked" in ran.output
    again = iocfeed("sources", "run", "urlhaus")
    assert again.exit_code == 0
    assert "not_modified: 0 added" in again.output
    listed = iocfeed("sources", "list")
    shown = iocfeed("sources", "show", "urlhaus")
    assert "urlhaus" in listed.output
    assert "basic (user reader)" in shown.output
    assert "not_modified" in shown.output
    for result in (added, ran, listed, shown):
        assert SECRET not in result.output


def test_a_failed_run_exits_non_zero_with_the_reason(iocfeed: Run, feeds: FeedServer) -> None:
    iocfeed("sources", "add", "gone", "--kind", "text", "--url", feeds.url("/missing"))
    ran = iocfeed("sources", "run", "gone")
    assert ran.exit_code == 1
    assert "gone: failed" in ran.output
    assert "the feed answered HTTP 404 Not Found" in ran.output


def test_enable_disable_remove_and_bad_input(iocfeed: Run, feeds: FeedServer) -> None:
    url = feeds.serve("/list.txt", "evil.example.com\n")
    assert iocfeed("sources", "add", "list", "--kind", "text", "--url", url).exit_code == 0
    assert iocfeed("sources", "add", "list", "--kind", "text", "--url", url).exit_code == 1
    assert "disabled" in iocfeed("sources", "disable", "list").output
    assert "enabled" in iocfeed("sources", "enable", "list").output
    assert iocfeed("sources", "add", "x", "--kind", "rss", "--url", url).exit_code == 2
    assert (
        iocfeed("sources", "add", "y", "--kind", "text", "--url", url, "--interval", "5").exit_code
        == 2
    )
    assert iocfeed("sources", "remove", "list").exit_code == 0
    assert iocfeed("sources", "run", "list").exit_code == 1
    assert iocfeed("sources", "show", "list").exit_code == 1


def test_add_with_defaults_type_filter_and_column_mapping(iocfeed: Run, feeds: FeedServer) -> None:
    url = feeds.serve("/partner.csv", "# list\nevil.example.com,x\n198.51.100.7,y\n")
    added = iocfeed(
        "sources", "add", "partner", "--kind", "csv", "--url", url, "--column", "value=1",
        "--type", "domain", "--tag", "Partner", "--confidence", "high", "--tlp", "amber",
        "--header", "X-Partner-Key: abc123",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    shown = iocfeed("sources", "show", "partner")
    assert "header (X-Partner-Key)" in shown.output
    assert "abc123" not in shown.output
    ran = iocfeed("sources", "run", "partner")
    assert "succeeded: 1 added" in ran.output
    assert feeds.requests[-1]["X-Partner-Key"] == "abc123"
    bad = iocfeed("sources", "add", "p2", "--kind", "csv", "--url", url, "--column", "colour=2")
    assert bad.exit_code == 2
    assert "unknown CSV field 'colour'" in bad.output
