// Passkeys (WebAuthn) with the browser's own navigator.credentials; no framework.
//
// form[data-passkey-create]: on submit, fetch creation options from data-options-url (a POST
//   with the form's CSRF token), create the passkey, put its JSON in the form's `credential`
//   field and send the form.
// form[data-passkey-get]: the same for a sign-in (or a second step, or a confirmation) when its
//   [data-passkey-button] is pressed; with data-conditional, also offered in the login field's
//   autofill (mediation "conditional") as soon as the page loads.
// Options come as the JSON of PublicKeyCredential.parseCreationOptionsFromJSON /
// parseRequestOptionsFromJSON; browsers without those get the same conversion done here.
(function () {
  "use strict";
  var supported = !!(window.PublicKeyCredential && navigator.credentials);

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i += 1) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try { return credential.toJSON(); } catch (ignored) { /* some extensions: build it below */ }
    }
    var r = credential.response, response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return { id: credential.id, rawId: toText(credential.rawId), type: credential.type,
             authenticatorAttachment: credential.authenticatorAttachment || null,
             clientExtensionResults: credential.getClientExtensionResults(), response: response };
  }

  function say(form, text, isError) {
    var status = form.querySelector("[data-passkey-status]");
    if (!status) { return; }
    status.textContent = text || "";
    status.classList.toggle("error-text", !!isError);
  }

  function fetchOptions(form) {
    var token = form.elements.namedItem("csrf_token");
    return fetch(form.getAttribute("data-options-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
    }).then(function (answer) {
      return answer.json().then(function (body) {
        if (!answer.ok) { throw new Error((body.error && body.error.message) || answer.statusText); }
        return body.publicKey;
      });
    });
  }

  function send(form, credential) {
    form.elements.namedItem("credential").value = JSON.stringify(credentialJSON(credential));
    var remember = form.elements.namedItem("remember"), box = document.querySelector("input[type=checkbox][name=remember]");
    if (remember && box && box.form !== form) { remember.value = box.checked ? "y" : ""; }
    HTMLFormElement.prototype.submit.call(form);
  }

  function failed(form, error) {
    if (error && error.name === "AbortError") { return; }  // replaced by another request
    var message = form.getAttribute("data-msg-failed") || "";
    if (error && error.message && error.name !== "NotAllowedError") { message += " (" + error.message + ")"; }
    say(form, message, true);
  }

  // --- adding a passkey -------------------------------------------------------------------------
  document.querySelectorAll("form[data-passkey-create]").forEach(function (form) {
    if (!supported) { say(form, form.getAttribute("data-msg-unsupported"), true); return; }
    form.addEventListener("submit", function (event) {
      var name = form.elements.namedItem("name");
      if (name && !name.value.trim()) { return; }  // the server says what is missing
      event.preventDefault();
      say(form, form.getAttribute("data-msg-waiting"));
      fetchOptions(form)
        .then(function (json) { return navigator.credentials.create({ publicKey: creationOptions(json) }); })
        .then(function (credential) { send(form, credential); })
        .catch(function (error) { failed(form, error); });
    });
  });

  // --- signing in, second step, confirming ------------------------------------------------------
  var pending = null;  // the AbortController of the request in progress (one at a time)

  function get(form, conditional) {
    if (pending) { pending.abort(); }
    var controller = new AbortController();
    pending = controller;
    return fetchOptions(form).then(function (json) {
      var request = { publicKey: requestOptions(json), signal: controller.signal };
      if (conditional) { request.mediation = "conditional"; }
      return navigator.credentials.get(request);
    }).then(function (credential) {
      if (credential) { send(form, credential); }
    }).catch(function (error) {
      if (!conditional) { failed(form, error); }
    });
  }

  document.querySelectorAll("form[data-passkey-get]").forEach(function (form) {
    if (!supported) { return; }
    form.hidden = false;
    var button = form.querySelector("[data-passkey-button]");
    if (button) {
      button.addEventListener("click", function () {
        say(form, form.getAttribute("data-msg-waiting"));
        get(form, false);
      });
    }
    if (form.hasAttribute("data-conditional") && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) { get(form, true); }
      });
    }
  });
}());
