// Execution log panel: stay pinned to the newest line unless the reader scrolled up.
// A static file (no inline script) so the page works under a Content-Security-Policy without 'unsafe-inline'.
(function () {
  "use strict";
  const SLACK = 24; // pixels from the bottom that still count as "at the bottom"
  let follow = true;

  const scroller = () => document.getElementById("log-scroll");
  const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;

  function showJump() {
    const button = document.getElementById("log-jump");
    if (button) button.hidden = follow;
  }

  function pin() {
    const el = scroller();
    if (el && follow) el.scrollTop = el.scrollHeight;
    showJump();
  }

  // Scroll events do not bubble; listen in the capture phase for the panel's own scrolling.
  document.addEventListener("scroll", (event) => {
    if (event.target && event.target.id === "log-scroll") {
      follow = atBottom(event.target);
      showJump();
    }
  }, true);

  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("#log-jump")) {
      follow = true;
      pin();
      const el = scroller();
      if (el) el.focus();
    }
  });

  // A reloaded panel (filter changed) starts at its newest line; appended rows keep the reader's place.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "log-panel") follow = true;
  });
  document.addEventListener("htmx:afterSettle", pin);
  document.addEventListener("DOMContentLoaded", pin);
})();
