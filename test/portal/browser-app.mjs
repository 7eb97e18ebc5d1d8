// An app's own page using a browser token (what README's browser-token section shows): it reads its customer's wallet
// with Connect-Web. test/portal/portal.browser.test.ts bundles it and serves it from another origin; the engine URL,
// the customer and the token come in the URL fragment.
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';

const params = new URLSearchParams(location.hash.slice(1));
const auth = (next) => (req) => {
  req.header.set('authorization', `Bearer ${params.get('token')}`);
  return next(req);
};
const wallet = createClient(WalletService, createConnectTransport({ baseUrl: params.get('engine'), interceptors: [auth] }));
const out = document.getElementById('out');
wallet.getWallet({ customer: { ref: { case: 'id', value: params.get('customer') } } }).then(
  (r) => {
    out.dataset.state = 'ok';
    out.textContent = r.wallet.accounts.find((a) => a.assetCode === 'USD').balance;
  },
  (err) => {
    out.dataset.state = 'error';
    out.textContent = String(err.message ?? err);
  },
);
