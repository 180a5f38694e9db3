"""The ``sessiontrail`` command: ls, show, diff, tail, verify, export, import, annotate, prune, demo, view."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import rules
from ._home import default_directory
from ._nodes import Node
from .catalog import LISTED, Catalog, SessionInfo, load, wanted_sessions
from .display import format_cost, format_duration, format_tokens
from .reader import Batch, FolderReader, Problem
from .summary import hex_id, iso, listed_summary, node_summary, session_summary, summary_line

EXIT_OK, EXIT_DAMAGED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.run(args)
        return code
    except UsageError as exc:
        print(f"sessiontrail: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sessiontrail ls | head`
        sys.stderr.close()
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sessiontrail",
        description="Record, list and inspect agent and program sessions stored as local files.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ls", help="list sessions")
    p.add_argument("dir", nargs="*", type=Path, help="folders or files (default: the recording folder)")
    p.add_argument(
        "--tag", action="append", default=[], metavar="T", help="only sessions with this tag (repeat: all of them)"
    )
    p.add_argument("--status", choices=["running", "ended", "abandoned"], help="only sessions in this status")
    p.add_argument(
        "--where",
        metavar="EXPR",
        help='only sessions matching a query, e.g. "cost > 0.05 and has(kind = tool and status = error)" (README: Queries)',
    )
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(run=cmd_ls)

    p = sub.add_parser("show", help="show one session with its spans and events")
    p.add_argument("session_id", help="a session id or a unique prefix of one")
    p.add_argument("--dir", action="append", type=Path, default=None, help="folder or file to look in")
    p.add_argument("--json", action="store_true", help="print JSON with an events array")
    p.set_defaults(run=cmd_show)

    p = sub.add_parser("diff", help="compare two sessions: totals and their trees aligned")
    p.add_argument("a", metavar="A", help="the earlier session (an id or a unique prefix)")
    p.add_argument("b", metavar="B", help="the later session")
    p.add_argument("--dir", action="append", type=Path, default=None, help="folder or file to look in")
    p.add_argument("--json", action="store_true", help="print JSON: a, b, totals, nodes")
    p.add_argument(
        "--fail-on",
        action="append",
        default=[],
        metavar="COND",
        help="exit 1 when B regressed: cost+20%%, duration+50%%, tokens+10%%, errors+0%%, new-errors (repeatable)",
    )
    p.set_defaults(run=cmd_diff)

    p = sub.add_parser("tail", help="print events as they are recorded")
    p.add_argument("dir", nargs="?", type=Path, help="folder (default: the recording folder)")
    p.add_argument("-n", "--lines", type=int, default=10, help="print this many existing events first (default 10)")
    p.add_argument("--interval", type=float, default=0.2, help="seconds between polls (default 0.2)")
    p.add_argument("--exit-after", type=float, default=None, help=argparse.SUPPRESS)
    p.set_defaults(run=cmd_tail)

    p = sub.add_parser("verify", help="check files; exit 1 if any is damaged")
    p.add_argument("paths", nargs="+", type=Path, help="files or folders")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("export", help="write selected sessions to a file to share")
    p.add_argument("session_ids", nargs="+", metavar="SESSION_ID", help="session ids or unique prefixes")
    p.add_argument("--dir", action="append", type=Path, default=None, help="folder or file to look in")
    p.add_argument(
        "-o", "--output", type=Path, help="file to write (default: ./sessiontrail-export-ID.trail or .jsonl)"
    )
    p.add_argument(
        "--format",
        choices=["trail", "jsonl", "otlp-json", "chrome"],
        default="trail",
        help="trail (ours, opens in the viewer), jsonl (a record per line), otlp-json (OpenTelemetry), chrome (Perfetto, chrome://tracing)",
    )
    p.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="send the sessions over OTLP/HTTP (JSON) to a collector, e.g. http://localhost:4318 (no file is written)",
    )
    p.add_argument(
        "--redact",
        nargs="*",
        metavar="KEY",
        default=None,
        help="mask secrets first: well-known secret keys and API key formats, plus these keys",
    )
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("import", help="read OTLP/JSON traces (or our JSON lines) into session files")
    p.add_argument(
        "files", nargs="+", type=Path, help="OTLP/JSON documents, or JSON lines written by export --format jsonl"
    )
    p.add_argument("--dir", type=Path, default=None, help="folder to write into (default: the recording folder)")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("annotate", help="record a judgement of a session, or of one of its spans or events")
    p.add_argument("session_id", metavar="ID", help="a session id or a unique prefix of one")
    p.add_argument("name", help="what is judged, e.g. quality, correct, faithfulness")
    p.add_argument("value", help="a number, true/false, or a label such as good")
    p.add_argument("--dir", type=Path, default=None, help="folder of the session (default: the recording folder)")
    p.add_argument("--span", metavar="S", help="the span or event (16 hex digits, or a unique prefix)")
    p.add_argument("--note", help="a note for whoever reads it")
    p.add_argument("--author", help="who judges (default: user@host)")
    p.set_defaults(run=cmd_annotate)

    p = sub.add_parser("prune", help="remove the files of sessions older than an age")
    p.add_argument("dir", nargs="?", type=Path, help="folder (default: the recording folder)")
    p.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 90d, 12h, 2w: sessions over before then go")
    p.add_argument("--tag", help="only sessions with this tag")
    p.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    p.set_defaults(run=cmd_prune)

    p = sub.add_parser("demo", help="record a realistic set of demo sessions")
    p.add_argument("dir", nargs="?", type=Path, help="folder (default: the recording folder)")
    p.add_argument(
        "--live-seconds",
        type=float,
        default=120.0,
        help="keep one session running this long in the background (0: none)",
    )
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("view", help="open the desktop viewer")
    p.add_argument("paths", nargs="*", type=Path, help="folder or files (default: the recording folder)")
    p.add_argument("--screenshot", type=Path, help="render offscreen to this PNG and exit")
    p.add_argument("--session", help="session to select (with --screenshot)")
    p.add_argument(
        "--view",
        choices=["timeline", "tree", "details", "analytics", "compare"],
        help="view to show (with --screenshot)",
    )
    p.set_defaults(run=cmd_view)
    return parser


# ---------------------------------------------------------------------------- helpers


def _paths(given: Sequence[Path] | None) -> list[Path]:
    paths = list(given or []) or [default_directory()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    return paths


def _report(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _status_text(session: SessionInfo, now: int) -> str:
    return rules.status_text(session.status(now), session.end_state)


def _table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------------------- commands


def cmd_ls(args: argparse.Namespace) -> int:
    from .folder import Folder

    where: Callable[[SessionInfo, int], bool] | None = None
    if args.where:  # (the query language loads numpy: 0.1 s of every listing otherwise)
        from .query import QueryError, reads_nodes, session_query

        try:
            where = session_query(args.where)
        except QueryError as exc:
            raise UsageError(f"--where: {exc}") from None
    now = time.time_ns()
    tags_at, start_at, end_at, state_at, seen_at, beat_at = (
        LISTED.index(f) for f in ("tags", "start", "end", "end_state", "last_seen", "heartbeat_interval")
    )

    def kept(listed: tuple[Any, ...]) -> bool:
        return all(t in listed[tags_at] for t in args.tag) and (
            args.status is None
            or rules.session_status(listed[state_at], listed[seen_at], listed[beat_at], now) == args.status
        )

    # Read as the viewer reads: from the folder's index cache, kept current, so listing a big
    # folder again reads only what is new; when nothing is new, its listing is the answer.
    folder = Folder(_paths(args.dir))
    listing = folder.listing() if where is None else None
    # each session's listing and, for an ended one, the `ls --json` line the index keeps of it
    entries: list[tuple[tuple[Any, ...], str | None]]
    if listing is not None and folder.reader.unchanged():
        _report(folder.problems())
        lines = folder.ended_lines() if args.json else None
        entries = list(zip(listing, lines or [None] * len(listing), strict=True))  # in ls's order
        if args.tag or args.status:
            entries = [(e, line) for e, line in entries if kept(e)]
    else:
        _, batch = folder.poll()
        folder.save_index()
        _report([p for p in batch.problems if p.kind == "missing"] + folder.problems())
        listed = [(s, s.listed()) for s in folder.catalog.ordered()]
        listed = [(s, e) for s, e in listed if kept(e)]
        if where is not None:
            if reads_nodes(args.where):  # a clause over nodes: read them back in chunks
                hits = {s.id for s in folder.with_nodes([s.id for s, _ in listed]) if where(s, now)}
            else:
                hits = {s.id for s, _ in listed if where(s, now)}
            listed = [(s, e) for s, e in listed if s.id in hits]
        entries = [(e, None) for _, e in listed]
    if args.json:
        # A session per line, written as it is made: readable, encoded by json's C encoder
        # (with indent=2 the pure-Python one took 0.8 s of a 1.3 s listing of 10,000
        # sessions), and never the whole listing in memory (60 MB at 100,000 sessions).
        write = sys.stdout.write
        write("[" if entries else "[]\n")
        for i, (e, line) in enumerate(entries):
            write(("\n" if i == 0 else ",\n") + (line or summary_line(listed_summary(e, now))))
        if entries:
            write("\n]\n")
        return EXIT_OK
    if not entries:
        print("no sessions")
        return EXIT_OK
    rows = [
        [
            "ID",
            "NAME",
            "STATUS",
            "STARTED (UTC)",
            "DURATION",
            "EVENTS",
            "LLM",
            "TOOLS",
            "ERRORS",
            "TOKENS",
            "COST",
            "TAGS",
        ]
    ]
    for e, _ in entries:
        s = listed_summary(e, now)
        duration = rules.duration(e[start_at], e[end_at], s["status"], e[seen_at], now)
        rows.append(
            [
                s["id"][:8],
                _short(s["name"], 28),
                rules.status_text(s["status"], s["end_state"]),
                (s["start_time"] or "-")[:19].replace("T", " "),
                format_duration(duration),
                str(s["event_count"]),
                str(s["llm_calls"]),
                str(s["tool_calls"]),
                str(s["error_count"]),
                str(s["prompt_tokens"] + s["completion_tokens"]),
                format_cost(s["cost"]),
                _short(",".join(s["tags"]), 40),
            ]
        )
    print(_table(rows, right={4, 5, 6, 7, 8, 9, 10}))
    return EXIT_OK


def _find(catalog: Catalog, session_id: str) -> SessionInfo:
    found = catalog.find(session_id)
    if not found:
        raise UsageError(f"no session with id {session_id!r}")
    if len(found) > 1:
        raise UsageError(f"{session_id!r} matches {len(found)} sessions; give more of the id")
    return found[0]


def cmd_show(args: argparse.Namespace) -> int:
    catalog, batch = load(_paths(args.dir), sessions=[args.session_id])
    _report(batch.problems)
    session = _find(catalog, args.session_id)
    now = time.time_ns()
    nodes = sorted(session.nodes.values(), key=lambda n: n.start)
    if args.json:
        out = session_summary(session, now) | {
            "host_info": catalog.host_info(session),
            "events": [node_summary(session, n, now) for n in nodes],
        }
        # Indented for a person at a terminal; one line into a pipe, made by json's C encoder
        # (json.dump streams through the Python one): 10,000 nodes in 0.1 s instead of 0.9 s.
        indent = 2 if sys.stdout.isatty() else None
        sys.stdout.write(json.dumps(out, indent=indent, ensure_ascii=False, default=repr) + "\n")
        print()
        return EXIT_OK
    summary = session_summary(session, now)
    print(f"Session  {session.name}  ({session.id})")
    print(f"Status   {_status_text(session, now)}" + (f": {session.reason}" if session.reason else ""))
    print(f"Tags     {', '.join(session.tags) or '-'}")
    print(
        f"Started  {summary['start_time']}   Ended {summary['end_time'] or '-'}   Duration {format_duration(session.duration(now))}"
    )
    print(
        f"Totals   {session.event_count} events, {session.llm_calls} LLM calls, {session.tool_calls} tool calls, "
        f"{session.error_count} errors, {format_tokens(session.prompt_tokens, session.completion_tokens)}, cost {format_cost(session.cost)}"
    )
    if session.dropped:
        print(f"Dropped  {session.dropped} records were dropped by the recorder")
    print(f"Host     {session.hostname or '-'} pid {session.pid or '-'}")
    print("Files    " + "\n         ".join(str(p) for p in session.files))
    print()
    _print_tree(session, nodes)
    return EXIT_OK


def _print_tree(session: SessionInfo, nodes: list[Node]) -> None:
    children: dict[int | None, list[Node]] = {}
    for node in nodes:
        parent = node.parent if node.parent in session.nodes else None
        children.setdefault(parent, []).append(node)

    def walk(parent: int | None, depth: int) -> None:
        for node in children.get(parent, ()):
            duration = format_duration((node.end - node.start) / 1e9) if node.end is not None else "open"
            status = node.status or "open"
            print(f"{'  ' * depth}{node.kind:<9} {_short(node.name, 50)}  [{duration}, {status}]{_preview(node)}")
            if depth < 50:
                walk(node.id, depth + 1)

    walk(None, 0)


def _preview(node: Node) -> str:
    attrs = node.all_attrs()
    if node.kind == "llm":
        tokens = format_tokens(rules.as_int(attrs.get("prompt_tokens")), rules.as_int(attrs.get("completion_tokens")))
        return f"  {tokens}, cost {format_cost(rules.as_number(attrs.get('cost')))}"
    if node.kind == "error":
        return f"  {_short(str(attrs.get('message', '')), 60)!r}"
    return ""


def _count(value: Any) -> str:
    return f"{value:,}"


_FORMAT_TOTAL: dict[str, Callable[[Any], str]] = {"duration": format_duration, "cost": format_cost}


def cmd_diff(args: argparse.Namespace) -> int:
    from .compare import ADDED, CHANGED, REMOVED, diff, failing

    catalog, batch = load(_paths(args.dir))
    _report(batch.problems)
    a, b = _find(catalog, args.a), _find(catalog, args.b)
    report = diff(a, b, time.time_ns())
    try:
        held = failing(report, args.fail_on)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False, default=repr)
        print()
    else:
        print(f"A  {a.name}  ({a.id})")
        print(f"B  {b.name}  ({b.id})")
        for name, figures in report["totals"].items():
            x, y, delta = figures["a"], figures["b"], figures["delta"]
            shown = _FORMAT_TOTAL.get(name, _count)
            change = "" if not delta else f"  ({'+' if delta > 0 else '−'}{shown(abs(delta))})"
            print(
                f"   {name:<18} {shown(x) if x is not None else '-':>12} → {shown(y) if y is not None else '-':<12}{change}"
            )
        print()
        marks = {ADDED: "+", REMOVED: "-", CHANGED: "~"}
        for node in report["nodes"]:
            why = f"  [{'; '.join(node['reasons'])}]" if node.get("reasons") else ""
            print(
                f"{marks.get(node['change'], ' ')} {'  ' * node['depth']}{node['kind']:<9} {_short(node['name'], 50)}{why}"
            )
    for reason in held:
        print(f"regression: {reason}", file=sys.stderr)
    return EXIT_DAMAGED if held else EXIT_OK


def _event_line(catalog: Catalog, record: dict[str, Any]) -> str | None:
    rtype = record.get("type")
    sid = str(record.get("session", ""))[:8]
    when = (iso(record.get("ts") if isinstance(record.get("ts"), int) else None) or "?")[11:23]
    if rtype == "session_start" and not record.get("continued"):
        return (
            f"{when} {sid} session start  {record.get('name')!s}  tags={','.join(map(str, record.get('tags') or []))}"
        )
    if rtype == "session_end":
        return f"{when} {sid} session end    {record.get('end_state')!s}" + (
            f": {record.get('reason')}" if record.get("reason") else ""
        )
    if rtype == "span_start":
        return f"{when} {sid} {record.get('kind')!s:<9} {record.get('name')!s}  start"
    if rtype == "span_end":
        session = catalog.sessions.get(record.get("session"))  # type: ignore[arg-type]
        node = session.nodes.get(record.get("span")) if session else None  # type: ignore[arg-type]
        name = f"{node.kind:<9} {node.name}" if node else f"span {hex_id(record.get('span'))}"
        return f"{when} {sid} {name}  end {record.get('status')!s}"
    if rtype == "event":
        return f"{when} {sid} {record.get('kind')!s:<9} {record.get('name')!s}"
    return None


def cmd_tail(args: argparse.Namespace) -> int:
    folder = _paths([args.dir] if args.dir else None)
    reader = FolderReader(folder)
    catalog = Catalog()
    first = reader.poll()
    catalog.apply(first)
    _report(first.problems)
    lines = [line for line in (_event_line(catalog, r) for r in _by_time(first)) if line]
    for line in lines[-args.lines :] if args.lines > 0 else []:
        print(line, flush=True)
    started = time.monotonic()
    while args.exit_after is None or time.monotonic() - started < args.exit_after:
        time.sleep(args.interval)
        batch = reader.poll()
        catalog.apply(batch)
        _report(batch.problems)
        for record in _by_time(batch):
            new = _event_line(catalog, record)
            if new:
                print(new, flush=True)
    return EXIT_OK


def _by_time(batch: Batch) -> list[dict[str, Any]]:
    return sorted(batch.records(), key=_ts)


def _ts(record: dict[str, Any]) -> int:
    ts = record.get("ts")
    return ts if isinstance(ts, int) else 0


def cmd_verify(args: argparse.Namespace) -> int:
    damaged = False
    for root in args.paths:
        reader = FolderReader([root], validate=True)
        batch = reader.poll(final=True)
        if not reader.files:
            for problem in batch.problems:
                print(f"ERROR    {problem}")
            if not batch.problems:
                print(f"ERROR    {root}: no .trail files found")
            damaged = True
            continue
        by_file: dict[Path, list[Problem]] = {}
        for problem in batch.problems:
            by_file.setdefault(problem.path, []).append(problem)
        for path, state in sorted(reader.files.items()):
            problems = by_file.get(path, [])
            if not any(p.is_damage for p in problems):
                notes = "".join(f" ({p.message})" for p in problems)
                print(f"ok       {path}: {state.records} records, {state.size} bytes{notes}")
                continue
            damaged = True
            print(f"DAMAGED  {path}: {state.records} records recovered, {state.size} bytes")
            for problem in problems:
                where = (
                    f"bytes {problem.offset}-{problem.offset + (problem.length or 0)}: "
                    if problem.offset is not None
                    else ""
                )
                print(f"         {where}{problem.message}")
    return EXIT_DAMAGED if damaged else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from . import transfer

    reader = FolderReader(_paths(args.dir), wanted=wanted_sessions(args.session_ids))
    batch = reader.poll()
    _report(batch.problems)
    catalog = Catalog()
    catalog.apply(batch)
    sessions = [_find(catalog, sid) for sid in args.session_ids]
    extra_keys = None if args.redact is None else set(args.redact)
    export = transfer.select(catalog, batch, sessions, redact_keys=extra_keys)
    if args.otlp_endpoint:
        return _send_otlp(args.otlp_endpoint, export.catalog, export.sessions)
    output = args.output or Path(f"sessiontrail-export-{sessions[0].id[:8]}.{transfer.SUFFIXES[args.format]}")
    if output.exists():
        raise UsageError(f"{output} exists; choose another file with -o")
    try:
        transfer.write(export, args.format, output)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    count = len(export.sessions)
    redacted = " (redacted)" if extra_keys is not None else ""
    print(f"wrote {len(export.records)} records of {count} session{'s' if count != 1 else ''} to {output}{redacted}")
    return EXIT_OK


def _send_otlp(endpoint: str, catalog: Catalog, sessions: list[SessionInfo]) -> int:
    """POST the sessions to an OpenTelemetry Collector's OTLP/HTTP traces endpoint (JSON)."""
    import urllib.error

    from .interchange import post_otlp, to_otlp_json

    url = endpoint.rstrip("/") + ("" if endpoint.rstrip("/").endswith("/v1/traces") else "/v1/traces")
    try:
        status = post_otlp(url, to_otlp_json(catalog, sessions))
    except urllib.error.HTTPError as exc:
        raise UsageError(f"{url} refused the traces: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise UsageError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    spans = sum(len(s.nodes) + 1 for s in sessions)
    print(f"sent {len(sessions)} session{'s' if len(sessions) != 1 else ''} ({spans} spans) to {url}: HTTP {status}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from . import transfer

    folder = args.dir or default_directory()
    for source in args.files:
        try:
            text = source.read_text(encoding="utf-8")
            output, sessions, records = transfer.import_text(source.name, text, folder)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{source}: cannot read ({exc})") from None
        except ValueError as exc:
            raise UsageError(f"{source}: {exc}") from None
        print(
            f"imported {sessions} session{'s' if sessions != 1 else ''} ({records} records) from {source} into {output}"
        )
    return EXIT_OK


def parse_value(text: str) -> str | int | float | bool:
    """A command-line value: a number or a boolean when it is one, else a label."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def cmd_annotate(args: argparse.Namespace) -> int:
    from . import _annotate

    folder = args.dir or default_directory()
    catalog, batch = load(_paths([folder]))
    session = _find(catalog, args.session_id)
    span = None
    if args.span:
        wanted = args.span.lower()
        matches = [n.id for n in session.nodes.values() if (hex_id(n.id) or "").startswith(wanted)]
        if len(matches) != 1:
            raise UsageError(f"{args.span!r} matches {len(matches)} spans or events of that session")
        span = matches[0]
    try:
        record = _annotate.annotation_record(
            session.id, args.name, parse_value(args.value), span_id=span, note=args.note, author=args.author
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _annotate.write(record, folder)
    target = f"span {hex_id(span)} of session" if span is not None else "session"
    print(f"{args.name} = {record[5]!r} on {target} {session.id} by {record[6]}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    from .prune import parse_age, plan_prune

    try:
        age = parse_age(args.older_than)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    folder = _paths([args.dir] if args.dir else None)
    reader = FolderReader(folder)
    catalog = Catalog()
    batch = reader.poll(apply=catalog.apply)
    _report(batch.problems)
    now = time.time_ns()
    ours = [path for path, state in reader.files.items() if state.version is not None]  # never a foreign file
    plan = plan_prune(catalog, ours, now - int(age * 1e9), tag=args.tag, now_ns=now)
    verb = "would remove" if args.dry_run else "removed"
    for path in plan.files:
        print(f"{verb} {path}")
    freed, failures = (plan.size, []) if args.dry_run else plan.remove()
    for failure in failures:
        print(f"warning: cannot remove {failure}", file=sys.stderr)
    kept = f"; {plan.kept_whole} older kept whole (they share files with newer ones)" if plan.kept_whole else ""
    print(
        f"{verb} {len(plan.files)} file{'s' if len(plan.files) != 1 else ''} of {len(plan.sessions)} "
        f"session{'s' if len(plan.sessions) != 1 else ''}, {freed / 1e6:.1f} MB{kept}"
    )
    return EXIT_OK if not failures else EXIT_DAMAGED


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import record_demo

    folder = args.dir or default_directory()
    summary = record_demo(folder, live_seconds=args.live_seconds, seed=args.seed)
    print(summary)
    return EXIT_OK


def cmd_view(args: argparse.Namespace) -> int:
    try:
        from viewer.app import run
    except ImportError as exc:
        raise UsageError(f"the viewer cannot start: {exc}") from None
    code: int = run(
        args.paths or [default_directory()], screenshot=args.screenshot, session=args.session, view=args.view
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
