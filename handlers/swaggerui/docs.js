// Starts Swagger UI on the page /api/docs/. It lives in its own file, not in
// the page, so the page's Content-Security-Policy can forbid inline scripts.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-schema-url"),
    domNode: root,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    // Authorize once with a bearer token; it survives a reload.
    persistAuthorization: true,
    displayRequestDuration: true,
    // No calls to an online validator: everything is served from here.
    validatorUrl: null,
  });
});
