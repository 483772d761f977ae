// sdk_check.cjs — runs the official DingTalk Stream SDK (DWClient) against the simulator.
//   node sdk_check.cjs NODE_MODULES_DIR SIM_BASE_URL CLIENT_ID CLIENT_SECRET
// The SDK posts to its own hard-coded gateway URL; an axios request interceptor (on the very
// axios instance the SDK imports) rewrites that URL's origin to the simulator, so the SDK's own
// request body, headers, WebSocket handling and acknowledgements are what is exercised.
// Prints one JSON line per robot callback the SDK hands to the application
// ({"callback": <data>}), and {"connected": true} once its socket is open. Acknowledges each
// callback through the SDK (socketCallBackResponse). Runs until killed.
'use strict';
const path = require('path');
const [modules, simBase, clientId, clientSecret] = process.argv.slice(2);
const axios = require(path.join(modules, 'axios'));
const { DWClient, TOPIC_ROBOT } = require(path.join(modules, 'dingtalk-stream', 'dist', 'index.cjs'));
const constants = require(path.join(modules, 'dingtalk-stream', 'dist', 'constants.cjs'));
const gatewayOrigin = new URL(constants.GATEWAY_URL).origin;

axios.interceptors.request.use((cfg) => {
    if (typeof cfg.url === 'string' && cfg.url.startsWith(gatewayOrigin))
        cfg.url = simBase + cfg.url.slice(gatewayOrigin.length);
    return cfg;
});

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const client = new DWClient({ clientId, clientSecret, keepAlive: true });
client.registerCallbackListener(TOPIC_ROBOT, (msg) => {
    let data;
    try {
        data = JSON.parse(msg.data);
    } catch (e) {
        data = { unparsed: msg.data };
    }
    out({ callback: data, messageId: msg.headers.messageId });
    client.socketCallBackResponse(msg.headers.messageId, { handled: true });
});
const origConnect = client._connect.bind(client);
client._connect = async () => {
    await origConnect();
    out({ connected: true });
};
client.connect();
