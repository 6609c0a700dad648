// Renders openapi.yaml (next to this page) with Swagger UI. Examples of
// every operation's success and failure responses are in the spec itself.
window.ui = SwaggerUIBundle({
  url: "openapi.yaml",
  dom_id: "#tokenim-api",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayOperationId: true,
  tryItOutEnabled: false,
});
