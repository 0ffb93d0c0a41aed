// The API docs page: Swagger UI over this server's own OpenAPI document.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Validation would send the document to swagger.io; nothing leaves this server.
    validatorUrl: null,
  });
});
