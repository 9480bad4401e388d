// Passkeys: register one on the account page, sign in with one on the sign-in page.
// Chromium and current browsers parse the server's JSON options directly and serialise the
// credential with toJSON(), so no base64url glue is needed here.
(function () {
  "use strict";
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"] || ""; }
    catch (e) { return ""; }
  }
  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {}),
    });
    const data = await resp.json().catch(function () { return {}; });
    if (!resp.ok) { throw new Error(data.detail || resp.statusText); }
    return data;
  }
  function say(text) {
    const box = document.getElementById("passkey-status");
    if (box) { box.textContent = text; box.hidden = !text; }
  }
  document.addEventListener("click", async function (event) {
    const add = event.target.closest("[data-passkey-register]");
    const signIn = event.target.closest("[data-passkey-signin]");
    if (!add && !signIn) { return; }
    event.preventDefault();
    const box = document.getElementById("passkey-status");
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      say(box ? box.dataset.unsupported : "");
      return;
    }
    try {
      if (add) {
        const opts = await post("/account/passkeys/options");
        const cred = await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey) });
        const label = document.getElementById("passkey-label");
        await post("/account/passkeys", { credential: cred.toJSON(), state: opts.state,
                                          label: label ? label.value : "" });
        window.location.assign("/account?done=passkey_added");
      } else {
        const opts = await post("/login/passkey/options");
        const cred = await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts.publicKey) });
        const done = await post("/login/passkey", { credential: cred.toJSON(), state: opts.state,
                                                    next: signIn.dataset.next || "/" });
        window.location.assign(done.redirect);
      }
    } catch (error) {
      say((box ? box.dataset.failed : "") + (error && error.message ? " " + error.message : ""));
    }
  });
})();
