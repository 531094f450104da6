// Loaded from the app's own static files, so the API docs page loads nothing from another host.
window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
