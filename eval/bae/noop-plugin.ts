// A plugin with bae's hooks that does nothing in them, for `npm run eval:bae -- cost`: what it
// costs is what the core pays to run any such plugin (the hello parse, the hook calls), so bae's
// own share is the difference between the two.
import { definePlugin } from 'weaver';

export default definePlugin({
  name: 'noop',
  version: '0.0.0',
  setup() {
    return { onClientHello() {}, onHandshakeDone() {}, onRequest() {}, onUpstreamSelect() {}, onResponse() {}, onClose() {} };
  },
});
