"""Verdicts that must hold on code nobody here chose: a long excerpt whose language guess is
uncertain, an excerpt cut inside a string whose prose the chat reader blanked, TypeScript
source (types, generics, interfaces, decorators) in an index of TypeScript, set-up code a
framework's scripts share with what users write by hand.

Real files and real SQLite indexes; nothing of ours is mocked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.matcher import Matcher
from egress_watch.classify.proprietary.prompt import code_regions
from egress_watch.classify.proprietary.thresholds import Thresholds, is_example_path
from egress_watch.classify.proprietary.tokenize import GO, JS, PYTHON
from tests.support.code_index import index_files

# A long reformatted Go test read as Python still matches the Go index -------------------------

ROUTES_TEST = """\
package routes

import (
\t"net/http"
\t"testing"
)

func performMethodCheck(t *testing.T, method string) {
\trouter := NewEngine()
\tv1 := router.Group("v1", func(c *Context) {})
\tlogin := v1.Group("/login/", func(c *Context) {}, func(c *Context) {})
\thandler := func(c *Context) {
\t\tc.String(http.StatusBadRequest, "the method was %s and index %d", c.Request.Method, c.index)
\t}

\tswitch method {
\tcase http.MethodGet:
\t\tv1.GET("/test", handler)
\t\tlogin.GET("/test", handler)
\tcase http.MethodPost:
\t\tv1.POST("/test", handler)
\t\tlogin.POST("/test", handler)
\tcase http.MethodPut:
\t\tv1.PUT("/test", handler)
\t\tlogin.PUT("/test", handler)
\tcase http.MethodPatch:
\t\tv1.PATCH("/test", handler)
\t\tlogin.PATCH("/test", handler)
\tcase http.MethodDelete:
\t\tv1.DELETE("/test", handler)
\t\tlogin.DELETE("/test", handler)
\tcase http.MethodHead:
\t\tv1.HEAD("/test", handler)
\t\tlogin.HEAD("/test", handler)
\tcase http.MethodOptions:
\t\tv1.OPTIONS("/test", handler)
\t\tlogin.OPTIONS("/test", handler)
\tdefault:
\t\tpanic("unknown method")
\t}

\tw := PerformRequest(router, method, "/v1/login/test")
\tassertEqual(t, http.StatusBadRequest, w.Code)
\tassertEqual(t, "the method was "+method+" and index 3", w.Body.String())
}
"""

OTHER_FAMILIES = {
    "settings.py": "def load(path):\n    with open(path) as f:\n        return f.read()\n",
    "server.js": "const http = require('http')\nmodule.exports = http.createServer(() => {})\n",
}


def _reformatted(go: str) -> str:
    """Tabs become four spaces and commas are padded, as a careless editor would."""
    out = []
    for line in go.split("\n"):
        body = line.lstrip("\t")
        out.append("    " * (len(line) - len(body)) + re.sub(r"\s*,\s*", " , ", body))
    return "\n".join(out)


def test_a_long_reformatted_go_test_guessed_as_another_language_still_matches(
    tmp_path: Path,
) -> None:
    db = index_files(tmp_path, {"routes_test.go": ROUTES_TEST, **OTHER_FAMILIES})
    lines = ROUTES_TEST.split("\n")
    excerpt = _reformatted("\n".join(lines[23:38]))  # PUT ... default: 15 lines, 6 points Python
    [region] = code_regions(excerpt, None, frozenset({GO, JS, PYTHON}))
    assert GO not in (region.language, *region.others)  # no tabs, no Go idiom: a wrong guess
    found = Matcher(db).match(excerpt)
    assert found, "the excerpt was matched against its guessed family only"
    assert (found[0].path, found[0].start_line) == ("routes_test.go", 24)
    assert found[0].end_line == 38


def test_a_confident_guess_does_not_try_other_families() -> None:
    go = "\n".join(ROUTES_TEST.split("\n")[7:20])  # tabs, :=, func: plainly Go
    [region] = code_regions(go, None, frozenset({GO, JS, PYTHON}))
    assert (region.language, region.others) == (GO, ())


# An excerpt cut inside a message string whose prose lines were blanked -----------------------

GLOBALS = '''\
from contextvars import ContextVar

from .local import LocalProxy

_no_session_msg = """\\
Working outside of a session context.

This typically means that you attempted to use functionality that needed
the current session. To solve this, open a session first with
store.session_scope(). See the documentation for more information.\\
"""
_cv_session: ContextVar[SessionScope] = ContextVar("ledger.session_scope")
session_scope: SessionScope = LocalProxy(  # type: ignore[assignment]
    _cv_session, unbound_message=_no_session_msg
)
current_store: Store = LocalProxy(  # type: ignore[assignment]
    _cv_session, "store", unbound_message=_no_session_msg
)
ledger: Ledger = LocalProxy(  # type: ignore[assignment]
    _cv_session, "ledger", unbound_message=_no_session_msg
)
'''


def test_an_excerpt_cut_inside_a_message_is_read_the_right_way_round(tmp_path: Path) -> None:
    db = index_files(tmp_path, {"globals.py": GLOBALS})
    excerpt = "\n".join(GLOBALS.split("\n")[7:22])  # from the message's second paragraph
    assert excerpt.startswith("This typically means")
    [region] = code_regions(excerpt)
    assert "This typically means" not in region.code  # its prose lines are blanked
    found = Matcher(db).match(excerpt)
    assert found, "the closing quotes were read as opening a string that ate the code"
    assert found[0].path == "globals.py"
    assert found[0].start_line == 12


LINT = '''\
class LintMiddleware:
    """Wraps an application and warns about what it does against the spec::

        from ledger.middleware.lint import LintMiddleware
        app = LintMiddleware(app)
    """

    def __init__(self, app: Application) -> None:
        self.app = app

    def check_environ(self, environ: Environment) -> None:
        if type(environ) is not dict:
            warn("The environment is not a standard dict.", LintWarning, stacklevel=4)
        for key in ("REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT", "ledger.version"):
            if key not in environ:
                warn(f"Required environment key {key!r} not found", LintWarning, stacklevel=3)
        if environ["ledger.version"] != (1, 0):
            warn("Environ is not a ledger 1.0 environ.", LintWarning, stacklevel=3)
        script_name = environ.get("SCRIPT_NAME", "")
        path_info = environ.get("PATH_INFO", "")
        if script_name and script_name[0] != "/":
            warn(f"'SCRIPT_NAME' does not start with a slash: {script_name!r}", stacklevel=3)
'''


def test_an_excerpt_cut_inside_a_docstring_example_is_read_the_right_way_round(
    tmp_path: Path,
) -> None:
    """The lines before the closing quotes are code (a docstring's example), yet reading the
    quotes as opening a string would swallow every line after them."""
    db = index_files(tmp_path, {"lint.py": LINT})
    excerpt = "\n".join(LINT.split("\n")[3:24])  # from the example's import line
    assert excerpt.lstrip().startswith("from ledger.middleware.lint import")
    found = Matcher(db).match(excerpt)
    assert found, "the closing quotes were read as opening a string that ate the code"
    assert (found[0].path, found[0].start_line) == ("lint.py", 8)


def test_urls_in_strings_do_not_read_as_comments() -> None:
    """A Python table of URL cases reformatted: ``//`` in its strings is no comment."""
    table = "\n".join(
        f'  (\n    "http://example.com/item_{n}_(wiki)" ,\n    {{}} ,\n'
        f"    '<a href=\"http://example.com/item_{n}_(wiki)\">item {n}</a>' ,\n  ) ,"
        for n in range(4)
    )
    [region] = code_regions(table, None, frozenset({GO, JS, PYTHON}))
    assert PYTHON in (region.language, *region.others)


# TypeScript source, not compiled JavaScript -------------------------------------------------

LEDGER_TS = """\
import { Injectable } from '@angular/core';
import type { Ledger, Entry } from './ledger';

export interface PageRequest<T extends object = Entry> {
  readonly cursor?: string;
  limit: number;
  filter: Partial<T>;
}

@Injectable({ providedIn: 'root' })
export class LedgerService<T extends Entry> implements Pager<T> {
  private readonly cache = new Map<string, T[]>();

  constructor(private readonly ledger: Ledger, @Inject(CLOCK) private clock: Clock) {}

  async page(request: PageRequest<T>): Promise<Page<T>> {
    const key = `${request.cursor ?? ''}:${request.limit}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      return { items: cached, next: request.cursor };
    }
    const rows = await this.ledger.query<T>({ ...request.filter, after: request.cursor });
    const items = rows.slice(0, request.limit) as T[];
    this.cache.set(key, items);
    return { items, next: rows.length > request.limit ? rows[request.limit].id : undefined };
  }

  private expired(entry: T, now: number = this.clock.now()): boolean {
    return entry.createdAt + this.ttlFor(entry.kind) < now;
  }
}

export type Pager<T> = { page(request: PageRequest<T>): Promise<Page<T>> };
export enum Direction { Forward = 'forward', Backward = 'backward' }
"""

RENAMES = {"key": "slot", "cached": "hit", "rows": "found", "items": "picked", "request": "req"}


def _ts_renamed(code: str) -> str:
    for old, new in RENAMES.items():
        code = re.sub(rf"\b{old}\b", new, code)
    return code


def _ts_reformatted(code: str) -> str:
    """Four spaces a level instead of two, double quotes, padded commas."""
    out = []
    for line in code.split("\n"):
        body = line.lstrip(" ")
        body = body.replace("'", '"').replace(", ", " , ")
        out.append("  " * (len(line) - len(body)) + body)
    return "\n".join(out)


@pytest.mark.parametrize("edit", [str, _ts_renamed, _ts_reformatted])
@pytest.mark.parametrize(("first", "length"), [(15, 5), (9, 15), (9, 25)])
def test_typescript_excerpts_are_read_as_javascript_and_match(
    tmp_path: Path, edit: Callable[[str], str], first: int, length: int
) -> None:
    db = index_files(tmp_path, {"ledger.service.ts": LEDGER_TS, **OTHER_FAMILIES})
    excerpt = edit("\n".join(LEDGER_TS.split("\n")[first : first + length]))
    [region] = code_regions(excerpt, None, frozenset({GO, JS, PYTHON}))
    assert region.language == JS
    found = Matcher(db).match(excerpt)
    assert found, excerpt
    assert found[0].path == "ledger.service.ts"
    assert first + 1 <= found[0].start_line <= found[0].end_line <= first + length


# Set-up code in a framework's scripts and examples -------------------------------------------

LINK_CHECK = """\
'use strict'

const { readFile } = require('node:fs/promises')
const { checkLinks } = require('./links')

async function main () {
  const text = await readFile(process.argv[2], 'utf8')
  const broken = await checkLinks(text, { timeout: 5000 })
  for (const link of broken) {
    console.log(`broken: ${link.href} (${link.status})`)
  }
  process.exitCode = broken.length ? 1 : 0
}

process.on('unhandledRejection', (err) => {
  console.error(err)
  process.exitCode = 2
})

main()
"""

HAND_WRITTEN = """\
process.on('unhandledRejection', (err) => {
  console.error(err)
  logger.flush()
  process.exit(1)
})
"""
"""What anyone writes at the bottom of a Node script: the script above holds its first two
lines (more than half of its tokens, less than 70 %)."""


def test_hand_written_set_up_code_does_not_alert_on_a_script_that_holds_it(
    tmp_path: Path,
) -> None:
    db = index_files(tmp_path, {"scripts/check-links.js": LINK_CHECK, **OTHER_FAMILIES})
    assert Matcher(db).match(HAND_WRITTEN) == []


def test_the_same_lines_in_library_code_still_alert(tmp_path: Path) -> None:
    db = index_files(tmp_path, {"lib/check-links.js": LINK_CHECK, **OTHER_FAMILIES})
    [found] = Matcher(db).match(HAND_WRITTEN)
    assert (found.path, found.start_line, found.end_line) == ("lib/check-links.js", 15, 16)


def test_an_example_file_needs_most_of_a_short_query() -> None:
    limits = Thresholds()
    assert is_example_path("examples/hello/main.go")
    assert is_example_path("webpack.config.js")
    assert not is_example_path("middleware/realip.go")
    assert not is_example_path("lib/response_test.go")  # tests are not examples
    assert limits.passes(17, 12, 0.65)
    assert not limits.passes(17, 12, 0.65, example=True)
    assert limits.passes(17, 12, 0.75, example=True)
    assert limits.passes(limits.renamed, 12, 0.6, example=True)  # long enough: as before


# A short match must be most of a short paste ---------------------------------------------------

WRITER = """\
package middleware

import "net/http"

type statusRecorder struct {
\thttp.ResponseWriter
\tstatus int
\tsize   int
}

func (w *statusRecorder) WriteHeader(code int) {
\tw.status = code
\tw.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
\tn, err := w.ResponseWriter.Write(b)
\tw.size += n
\treturn n, err
}
"""
SHARED_RUN = WRITER.split("\n\n")[2] + "\n"
"""The ``WriteHeader`` method: the few lines every framework's response writer has."""
OWN_CODE = "func idle() bool { return busy }\n"
"""A line of the user's own, about as long as the shared run."""


def test_a_short_run_shared_with_the_index_is_no_alert_inside_other_code(tmp_path: Path) -> None:
    """A run of under 22 tokens that is only about half of a short paste is how code really
    shared between frameworks (a response writer, a middleware's set-up) matched by chance:
    it needs ``short_share`` (70 %) of the paste. Pasted alone, the same run still alerts."""
    db = index_files(tmp_path, {"writer.go": WRITER})
    matcher = Matcher(db)
    alone = matcher.match(SHARED_RUN, GO)
    assert alone
    assert alone[0].path == "writer.go"
    assert alone[0].tokens < Thresholds().renamed
    everything = Matcher(db, Thresholds(raw=1, renamed=1, sure=1, min_score=0))
    mixed = SHARED_RUN + "\n" + OWN_CODE
    [candidate] = everything.match(mixed, GO)
    assert Thresholds().min_score <= candidate.score < Thresholds().short_share
    assert matcher.match(mixed, GO) == []


def test_short_fragments_need_more_of_the_query_than_long_ones() -> None:
    limits = Thresholds()
    assert limits.short_share > limits.min_score
    short = limits.renamed - 1
    assert limits.passes(short, short, 0.6)
    assert not limits.passes(short, short, 0.4)  # passed while short runs needed min_score
    assert Thresholds(short_share=limits.min_score).passes(short, short, 0.4)
    assert limits.passes(limits.renamed, 0, limits.min_score)  # renamed size: unchanged
