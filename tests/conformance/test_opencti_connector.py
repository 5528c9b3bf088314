"""OpenCTI's TAXII2 connector, emulated request for request with taxii2-client, over three runs.

What is emulated is the request logic of OpenCTI-Platform/connectors
``external-import/taxii2`` (``src/connector/connector.py`` and ``client_taxii.py``):

- one ``filters`` dict for the life of the process, holding ``limit`` (``per_request``);
- each run sets ``filters["added_after"]``: now - ``initial_history`` (24 h) on the first
  run, later the previous run's start on the connector's clock, kept as whole seconds
  (``int(now.timestamp())``) and sent as ``%Y-%m-%dT%H:%M:%S.%fZ``;
- collections ``*.*``: every collection of every API root, in the server's order;
- per collection, ``get_objects(**filters)``; while ``more`` is true and ``next`` is given,
  it pops ``added_after`` and sets ``filters["next"]``; it never removes ``next``, so the
  last token goes, alone, to the next collection, and with the next run's ``added_after``
  to the first collection of every later run;
- errors: the collection loop catches only ``TAXIIServiceException`` (logs, skips that
  collection); taxii2-client raises ``requests.HTTPError`` for a 4xx, which escapes to the
  run, which logs it and loses everything the ``*.*`` poll had gathered.

The server must make this client whole: every indicator of the first 24 hours on run 1,
and exactly the 25 domains imported before each later run on runs 2 and 3.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from requests.exceptions import HTTPError
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import ApiRoot, Collection, Server

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from iocfeed.taxii.collections import ALL_COLLECTION_ID, COLLECTIONS
from tests.conformance.conftest import LiveServer

PER_REQUEST = 100
NEW_PER_RUN = 25
REFERENCE_TYPES = ("identity", "marking-definition")


class OpenCtiTaxii2Connector:
    """The connector's polling logic; ``log`` stands for its error log."""

    def __init__(self, live: LiveServer) -> None:
        self.server = Server(live.discovery, user="opencti", password=live.key)
        self.filters: dict[str, Any] = {"limit": PER_REQUEST}
        self.state: dict[str, int] = {}
        self.log: list[str] = []
        self.requests = 0

    def run(self) -> list[dict[str, Any]]:
        """One scheduled run (``process_message``): the objects it would send to OpenCTI."""
        now = datetime.now(UTC)
        if "last_run" in self.state:
            last_run = datetime.fromtimestamp(self.state["last_run"], tz=UTC)
            self.filters["added_after"] = last_run.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            self.filters["added_after"] = now - timedelta(hours=24)
        stix_objects: list[dict[str, Any]] = []
        try:  # _collect_intelligence, for the one configured entry "*.*"
            stix_objects = self.poll_all_roots()
        except (TAXIIServiceException, HTTPError) as err:
            self.log.append(f"Error connecting to TAXII server: {err}")
        self.state["last_run"] = int(now.timestamp())
        return stix_objects

    def poll_all_roots(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for root in self.server.api_roots:
            found += self.poll_entire_root(root)
        return found

    def poll_entire_root(self, root: ApiRoot) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for collection in root.collections:
            try:
                found += self.poll(collection)
            except TAXIIServiceException as err:
                self.log.append(f"Error trying to poll Collection {collection.title}: {err}")
        return found

    def get_objects(self, collection: Collection) -> dict[str, Any]:
        self.requests += 1
        response: dict[str, Any] = collection.get_objects(**self.filters)
        return response

    def poll(self, collection: Collection) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        response = self.get_objects(collection)
        if not response.get("objects"):
            return objects
        while True:
            objects += response["objects"]
            if response.get("more") is not True:
                break
            if "next" in response:
                self.filters.pop("added_after", None)
                self.filters["next"] = response["next"]
                response = self.get_objects(collection)
        return objects


def indicator_ids(objects: list[dict[str, Any]]) -> set[str]:
    return {obj["id"] for obj in objects if obj["type"] not in REFERENCE_TYPES}


def import_domains(live: LiveServer, run: int) -> set[str]:
    """25 new domains, as an import would store them now; their ids."""
    items = [
        IndicatorInput(IocType.DOMAIN, f"run{run}-{number}.opencti.example", Confidence.HIGH)
        for number in range(NEW_PER_RUN)
    ]
    live.services.indicators.write(items, datetime.now(UTC))
    search = live.services.search
    return {found.stix_id for item in items if (found := search.current(item.type, item.value))}


def next_second() -> None:
    """Let the wall clock pass a whole second, so that the connector's second-rounded
    ``last_run`` falls after everything written so far."""
    time.sleep(1.05 - time.time() % 1)


def test_three_runs_over_every_collection_receive_every_new_indicator(
    live: LiveServer,
) -> None:
    connector = OpenCtiTaxii2Connector(live)
    next_second()
    first = connector.run()
    assert connector.log == []
    assert indicator_ids(first) >= live.stored_ids(ALL_COLLECTION_ID)
    for collection in COLLECTIONS:
        assert indicator_ids(first) >= live.stored_ids(collection.id), collection.title
    assert connector.requests > 2 * len(live.stored_ids(ALL_COLLECTION_ID)) // PER_REQUEST
    assert "next" in connector.filters  # the token it keeps for ever

    for run in (2, 3):
        new = import_domains(live, run)
        assert len(new) == NEW_PER_RUN
        next_second()
        received = connector.run()
        assert connector.log == []
        assert indicator_ids(received) == new, f"run {run}"
        assert "next" in connector.filters


def test_a_refused_token_loses_the_whole_run_in_this_connector(live: LiveServer) -> None:
    """Why a token that reaches another collection alone is not refused when its walk had an
    ``added_after``: the connector would lose every collection of the run. A token whose
    walk had none is refused (400), and this is what the connector then does."""
    connector = OpenCtiTaxii2Connector(live)
    root = connector.server.api_roots[0]
    unbounded = root.collections[0].get_objects(limit=PER_REQUEST)
    connector.filters["next"] = unbounded["next"]
    connector.filters.pop("added_after", None)
    with pytest.raises(HTTPError) as caught:
        connector.poll_all_roots()
    refusal = caught.value.response
    assert refusal is not None and refusal.status_code == 400
    description = refusal.json()["description"]
    assert description == "next was issued for another collection; start again without it"
