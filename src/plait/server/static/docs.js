// Starts Swagger UI on /docs (a file, not an inline script: the page's policy runs
// only scripts of this origin).
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
