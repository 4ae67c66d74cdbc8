// The /docs page's initializer: a file of ours, not an inline script, so the page's CSP can
// forbid inline scripts. validatorUrl: null keeps Swagger UI from calling validator.swagger.io.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api-docs/openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
  });
};
