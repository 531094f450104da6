// Small progressive enhancements for the dashboard; every page works without them.

// Every htmx request carries the page's CSRF token as a header (docs/SECURITY.md, "Which requests change data").
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});

// htmx swaps 4xx responses too, so forms re-rendered with inline field errors replace themselves.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status === 400 || status === 409 || status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

document.addEventListener("click", async (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;

  // [data-dismiss]: remove the enclosing flash / panel.
  const dismiss = target.closest("[data-dismiss]");
  if (dismiss) {
    const box = dismiss.closest(".flash, .notice, [data-dismissable]");
    if (box) box.remove();
    return;
  }

  // [data-copy="#selector"]: copy the text of the target element.
  const copy = target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    if (!source) return;
    const text = source.value !== undefined ? source.value : source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    const label = copy.textContent;
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = label; }, 1500);
    return;
  }

  // [data-dialog-open="id"] / [data-dialog-close]: native <dialog> confirmations.
  const opener = target.closest("[data-dialog-open]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.dialogOpen);
    if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
    return;
  }
  const closer = target.closest("[data-dialog-close]");
  if (closer) {
    const dialog = closer.closest("dialog");
    if (dialog) { event.preventDefault(); dialog.close(); }
  }
});

// form[data-confirm="message"]: ask before submitting (fallback when no <dialog> is used).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
}, true);

// select[data-autosubmit]: submit the form on change (the org switcher); the button stays for no-JS use.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-autosubmit") && select.form) {
    select.form.requestSubmit();
  }
});

// A form re-rendered with field errors puts the keyboard on the first invalid input.
function focusFirstInvalid(root) {
  const invalid = root.querySelector('form [aria-invalid="true"]');
  if (invalid) invalid.focus();
}
document.addEventListener("DOMContentLoaded", () => focusFirstInvalid(document));
document.addEventListener("htmx:afterSwap", (event) => focusFirstInvalid(event.detail.target));
