// Starts Swagger UI on /api/docs. A file of its own, not an inline script: the CSP is script-src 'self'.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    validatorUrl: null,  // no call to an outside validator
  });
});
