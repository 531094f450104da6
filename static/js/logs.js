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

  const fromEarlier = (detail) => Boolean(detail.requestConfig && detail.requestConfig.elt
    && detail.requestConfig.elt.id === "log-earlier-button");

  // While following, the page keeps only the newest `data-keep` lines, so a long run does not slow the
  // browser; "Show earlier lines" then pages back from the oldest line kept.
  function trim(list) {
    const keep = parseInt(list.dataset.keep, 10);
    if (!follow || !(keep > 0)) return;
    const extra = list.children.length - keep;
    if (extra <= 0) return;
    for (let i = 0; i < extra; i += 1) list.firstElementChild.remove();
    const earlier = document.getElementById("log-earlier");
    if (earlier) earlier.hidden = false;
    const hint = document.getElementById("log-earlier-hint");
    if (hint) hint.textContent = "Older lines are not on the page.";
  }

  // "Show earlier lines" asks for the rows before the oldest line on the page, whatever was dropped.
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt && event.detail.elt.id === "log-earlier-button") {
      const first = document.querySelector("#log-lines li");
      if (first) event.detail.parameters.before = first.dataset.id;
    }
  });

  let heightBefore = 0;
  document.addEventListener("htmx:beforeSwap", (event) => {
    const el = scroller();
    if (el && fromEarlier(event.detail)) heightBefore = el.scrollHeight;
  });

  // A reloaded panel (filter changed) starts at its newest line; appended rows keep the reader's place,
  // and so do earlier rows put above it.
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!target) return;
    if (target.id === "log-panel") follow = true;
    if (target.id !== "log-lines") return;
    if (fromEarlier(event.detail)) {
      follow = false;
      const el = scroller();
      if (el) el.scrollTop += el.scrollHeight - heightBefore;
    } else {
      trim(target);
    }
  });
  document.addEventListener("htmx:afterSettle", pin);
  document.addEventListener("DOMContentLoaded", pin);
})();
