// An independent upstream identity provider for egov's federation tests: panva/oidc-provider,
// loopback only, playing a VNeID-style national provider that egov trusts for the personal ID.
//
// Environment:
//   PORT            listening port on 127.0.0.1 (required)
//   CLIENTS         JSON list of {client_id, client_secret, redirect_uris}
//   ACCOUNTS        JSON object {accountId: {vn_personal_id, name, birthdate}}
//   ID_TOKEN_ALG    ES256 (default) | RS256
//   CLAIMS_IN_ID_TOKEN  "1" puts the profile claims in the ID token; otherwise (the OIDC default
//                   when an access token is issued) they come from userinfo only
//
// Sign-in is a form at /interaction/<uid> with an account id and the acr to assert, so a test
// decides what level the upstream claims; consent is granted automatically (first-party client).
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import { Provider } from 'oidc-provider';

const HOST = '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT || '0', 10);
if (!PORT) throw new Error('PORT is required');
const ISSUER = `http://${HOST}:${PORT}`;
const CLIENTS = JSON.parse(process.env.CLIENTS || '[]');
const ACCOUNTS = JSON.parse(process.env.ACCOUNTS || '{}');
const ALG = process.env.ID_TOKEN_ALG || 'ES256';
const ACR_VALUES = ['urn:vneid:loa:1', 'urn:vneid:loa:2'];
const SCOPES = 'openid profile vn_personal_id';

function jwks() {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return { keys: [{ ...ec, kid: 'up-es256', use: 'sig', alg: 'ES256' }, { ...rsa, kid: 'up-rs256', use: 'sig', alg: 'RS256' }] };
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

const provider = new Provider(ISSUER, {
  clients: CLIENTS.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: ALG,
  })),
  jwks: jwks(),
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'profile', 'vn_personal_id'],
  claims: { amr: null, openid: ['sub'], profile: ['name', 'birthdate'], vn_personal_id: ['vn_personal_id'] },
  acrValues: ACR_VALUES,
  conformIdTokenClaims: process.env.CLAIMS_IN_ID_TOKEN !== '1',
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, claimsParameter: { enabled: true } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    const profile = ACCOUNTS[id];
    if (!profile) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...profile }; } };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(SCOPES);
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!m) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Upstream sign-in</title><form method="post" action="/interaction/${details.uid}">
      <label>account <input name="login"></label><label>acr <input name="acr" value="${ACR_VALUES[1]}"></label>
      <button>Sign in</button></form>`;
    return undefined;
  }
  const form = await readForm(ctx.req);
  if (!ACCOUNTS[form.login]) {
    ctx.status = 400;
    ctx.body = 'unknown account';
    return undefined;
  }
  const result = { login: { accountId: form.login, acr: form.acr || ACR_VALUES[0], amr: (form.amr || 'pwd otp').split(' ') } };
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  return undefined;
});

provider.on('server_error', (_ctx, err) => { console.error('server_error', err); });
const server = provider.listen(PORT, HOST, () => { console.log(`upstream idp on ${ISSUER}`); });
const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections?.(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
