// Passkeys on the portal's pages (ARCHITECTURE §15). A form made by the `passkey_form` macro names the JSON route
// that starts its ceremony; this asks it for the options (with the page's CSRF token), lets the device answer
// (navigator.credentials), and posts the answer with the form, so the page that answers is the server's.
// Browsers that cannot (no WebAuthn JSON helpers) keep the forms hidden: the password and the app still work.
(function () {
  "use strict";
  var PKC = window.PublicKeyCredential;
  if (!PKC || !PKC.parseRequestOptionsFromJSON || !PKC.parseCreationOptionsFromJSON) {
    return;
  }
  document.querySelectorAll("form[data-passkey-options]").forEach(function (form) {
    var status = form.querySelector(".passkey-status");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.elements.credential_json.value) {
        return; // the device answered: the form goes to the server
      }
      event.preventDefault();
      status.textContent = "";
      fetch(form.dataset.passkeyOptions, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRF-Token": form.elements.csrf_token.value, "Accept": "application/json"}
      }).then(function (reply) {
        if (!reply.ok) {
          // 403: a factor must be given again first (the session is old), or the login's step is over.
          throw new Error(reply.status === 403 ? "refused" : "options: " + reply.status);
        }
        return reply.json();
      }).then(function (body) {
        var options = JSON.parse(body.options_json);
        if (form.dataset.passkeyCeremony === "create") {
          return navigator.credentials.create({publicKey: PKC.parseCreationOptionsFromJSON(options)});
        }
        return navigator.credentials.get({publicKey: PKC.parseRequestOptionsFromJSON(options)});
      }).then(function (credential) {
        form.elements.credential_json.value = JSON.stringify(credential.toJSON());
        form.submit();
      }).catch(function (error) {
        // cancelled, timed out, or refused by the device: the person may try again; refused by the portal: log in
        status.textContent = error.message === "refused" ? status.dataset.refused : status.dataset.failed;
      });
    });
  });
}());
