// Every htmx request carries the page's CSRF token as a header (§0.2, ARCHITECTURE §7).
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});
