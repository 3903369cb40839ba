// panva's openid-client (an OpenID-certified relying party) against the portal's provider: discovery, code + PKCE
// with state and nonce, the ID token checked against the JWKS, userinfo, introspection, refresh, a replayed
// refresh token, the RP-initiated logout URL. Driven by tests/browser/test_openid_client.py over stdin/stdout (one
// JSON object per line): it prints the authorization URL, reads back the URL the browser was sent to, prints what
// it obtained.
import * as client from 'openid-client';
import readline from 'node:readline';

const [issuer, clientId, clientSecret, redirectUri, postLogoutRedirectUri] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n');
const refusal = async (attempt) => {
  try {
    await attempt();
    return 'accepted';
  } catch (error) {
    return error.error ?? error.code ?? String(error);
  }
};

const config = await client.discovery(new URL(issuer), clientId, { client_secret: clientSecret },
  client.ClientSecretBasic(clientSecret), { execute: [client.allowInsecureRequests] });  // http://localhost here
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
say({ url: client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope: 'openid profile email', state, nonce,
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
}).href });

const callback = (await lines.next()).value;
const tokens = await client.authorizationCodeGrant(config, new URL(callback),
  { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const introspected = await client.tokenIntrospection(config, tokens.access_token);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const replayed = await refusal(() => client.refreshTokenGrant(config, tokens.refresh_token));
const latest = await refusal(() => client.refreshTokenGrant(config, refreshed.refresh_token));
say({
  claims, userinfo, active: introspected.active, refreshedSubject: refreshed.claims().sub, replayed, latest,
  endSession: client.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token, post_logout_redirect_uri: postLogoutRedirectUri, state: 'bye',
  }).href,
});
process.exit(0);
