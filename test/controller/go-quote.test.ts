import t from 'tap';
import { goQuote, goQuoteList } from '../../src/controller/go-quote';
import { mustParseIp } from '../../src/net/ip';

t.test('Go %q formatting', async (t) => {
  t.equal(goQuote('a"b\\c\n'), '"a\\"b\\\\c\\n"');
  t.equal(goQuoteList([mustParseIp('1.2.3.4'), mustParseIp('1000::1')]), '["1.2.3.4" "1000::1"]');
  t.equal(goQuoteList([]), '[]');
});
