// Loaded from the app's own static files: the docs page references no other host (§2.10).
window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
