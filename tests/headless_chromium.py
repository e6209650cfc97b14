"""A headless Chromium for tests, driven over the Chrome DevTools Protocol through a pipe
(``--remote-debugging-pipe``: file descriptors 3 and 4, NUL-terminated JSON messages), with the standard library
only: no browser download, no websocket client, no port.

    with Chromium.start(tmp_path / "profile") as browser:
        page = browser.new_page()
        page.goto(Path("index.html").resolve().as_uri())
        page.eval("document.title")
        page.click("table thead th:nth-child(2) button")
        assert not page.errors()

`find_chromium` looks for ``$ZSHBENCH_CHROMIUM`` (``none`` to go without), then Debian's ``chromium``
(``apt-get install chromium``).
"""

from __future__ import annotations

import base64
import fcntl
import itertools
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["find_chromium", "Chromium", "Page", "BrowserError", "FLAGS"]

# the flags of the project's working agreement: headless, sandbox off (CI runs as root), no network of its own
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """``$ZSHBENCH_CHROMIUM`` (``none``: no browser), else the first of chromium, chromium-browser, google-chrome
    on PATH; None when there is none."""
    env = os.environ.get("ZSHBENCH_CHROMIUM")
    if env == "none":
        return None
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """One headless Chromium process and its DevTools pipe."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int, timeout: float):
        self.proc = proc
        self.timeout = timeout
        self._out = os.fdopen(to_browser, "wb", buffering=0)
        self._in = os.fdopen(from_browser, "rb", buffering=0)
        self._ids = itertools.count(1)
        self._messages: queue.Queue = queue.Queue()
        self._pending: list[dict] = []  # events read while waiting for a response
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, user_data_dir: str | os.PathLike, executable: str | None = None, timeout: float = 60.0):
        """Start Chromium with a new, empty profile in ``user_data_dir``.

        Raises:
            BrowserError: no Chromium found, or it exited before answering.
        """
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError("no Chromium found (apt-get install chromium, or set ZSHBENCH_CHROMIUM)")
        Path(user_data_dir).mkdir(parents=True, exist_ok=True)
        cmd_r, cmd_w = os.pipe()  # we write commands, Chromium reads them on its fd 3
        out_r, out_w = os.pipe()  # Chromium writes on its fd 4, we read
        # the child's ends at fd >= 10 (close-on-exec), so that dup2 onto 3 and 4 cannot clobber one another
        child_in = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(out_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(out_w)

        def child_fds():  # runs in the child between fork and exec; dup2 leaves 3 and 4 inheritable
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        try:
            proc = subprocess.Popen(
                [exe, *FLAGS, f"--user-data-dir={Path(user_data_dir).resolve()}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=False,  # Python's own descriptors are close-on-exec anyway (PEP 446)
                preexec_fn=child_fds,
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        browser = cls(proc, cmd_w, out_r, timeout)
        try:
            browser.send("Browser.getVersion")
        except BrowserError:
            browser.close()
            raise
        return browser

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = self._in.read(65536)
            if not chunk:
                self._messages.put(None)
                return
            buf += chunk
            *done, buf = buf.split(b"\0")
            for raw in done:
                self._messages.put(json.loads(raw))

    def _next(self, deadline: float) -> dict:
        try:
            msg = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise BrowserError("Chromium did not answer in time") from None
        if msg is None:
            raise BrowserError(f"Chromium exited (status {self.proc.poll()})")
        return msg

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one DevTools command and return its result (events read meanwhile are kept for `wait_event`)."""
        i = next(self._ids)
        msg: dict[str, Any] = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._next(deadline)
            if m.get("id") == i:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error']}")
                return m.get("result", {})
            self._pending.append(m)

    def wait_event(self, method: str, session: str | None = None) -> dict:
        """The params of the first event ``method`` (of ``session``) not yet consumed, waiting for it."""
        deadline = time.monotonic() + self.timeout
        while True:
            for k, m in enumerate(self._pending):
                if m.get("method") == method and m.get("sessionId") == session:
                    del self._pending[k]
                    return m.get("params", {})
            self._pending.append(self._next(deadline))

    def events(self, session: str | None = None) -> list[dict]:
        """Every event of ``session`` received so far (without waiting)."""
        while True:
            try:
                m = self._messages.get_nowait()
            except queue.Empty:
                break
            if m is not None:
                self._pending.append(m)
        return [m for m in self._pending if "method" in m and m.get("sessionId") == session]

    def new_page(self, width: int = 1280, height: int = 900) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self._out.write(json.dumps({"id": next(self._ids), "method": "Browser.close"}).encode() + b"\0")
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self._out.close()


class Page:
    """One tab: navigate, evaluate JavaScript, click like a user, read console errors, take a screenshot."""

    def __init__(self, browser: Chromium, session: str):
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def goto(self, url: str) -> None:
        """Open ``url`` and wait for its load event (every image, script and style sheet loaded or failed)."""
        nav = self.send("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise BrowserError(f"cannot open {url}: {nav['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session)

    def eval(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (awaiting a promise); a thrown exception raises."""
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise BrowserError(f"{expression!r} threw: {d.get('exception', {}).get('description') or d.get('text')}")
        return res["result"].get("value")

    def click(self, selector: str) -> None:
        """Scroll the element into view and click its centre with the mouse (real input events)."""
        box = self.eval(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});if(!e)return null;"
            "e.scrollIntoView({block:'center'});var r=e.getBoundingClientRect();"
            "return [r.left+r.width/2, r.top+r.height/2];})()"
        )
        if box is None:
            raise BrowserError(f"no element matches {selector!r}")
        x, y = box
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def press(self, key: str = "Enter") -> None:
        """Press a key on the focused element (Enter or space activate a focused button)."""
        codes = {"Enter": ("Enter", 13, "\r"), " ": ("Space", 32, " ")}
        code, vk, text = codes[key]
        base = {"key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": text, **base})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **base})

    def errors(self) -> list[str]:
        """Uncaught exceptions, console.error/assert calls and browser log errors (failed loads, CSP
        violations) of this page so far."""
        out = []
        for ev in self.browser.events(self.session):
            p = ev.get("params", {})
            if ev["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a)) for a in p.get("args", [])))
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}".rstrip())
        return out

    def screenshot(self, path: str | os.PathLike, full_page: bool = True) -> Path:
        """A PNG of the viewport, or of the whole page."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params.update(
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            )
        data = self.send("Page.captureScreenshot", params)["data"]
        p = Path(path)
        p.write_bytes(base64.b64decode(data))
        return p


def main(argv: list[str] | None = None) -> int:
    """``python tests/headless_chromium.py PAGE.html [SHOT.png]``: open a page, print its errors, and write a
    full-page screenshot; exit 1 when the page logged an error."""
    import sys
    import tempfile

    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        print(main.__doc__)
        return 2
    with tempfile.TemporaryDirectory() as profile, Chromium.start(profile) as browser:
        page = browser.new_page()
        page.goto(Path(args[0]).resolve().as_uri())
        images = page.eval("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        errors = page.errors() + ([f"{images} image(s) not displayed"] if images else [])
        if len(args) == 2:
            print(f"wrote {page.screenshot(args[1])}")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
