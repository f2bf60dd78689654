// Request sequences for the behaviours the public HTTP caching test suite
// (github.com/http-tests/cache-tests) requires of a shared cache, written here from the RFCs
// and that suite's descriptions; each carries the suite's identifier so results line up.
// A number in a field is a date that many seconds from the shared clock's now.
import type { Field, Scenario, Step } from './engine.ts'

/** The pause the suite takes between requests that must age a response. */
const PAUSE = 3

const fresh = (extra: Partial<Step> = {}): Step => ({
  response: [['Cache-Control', 'max-age=100000'], ['Date', 0], ...(extra.response ?? [])],
  setup: true,
  pause: PAUSE,
  ...omit(extra, 'response'),
})

const stale = (extra: Partial<Step> = {}): Step => ({
  response: [['Expires', -5000], ['Last-Modified', -100000], ['Date', 0], ...(extra.response ?? [])],
  setup: true,
  pause: PAUSE,
  ...omit(extra, 'response'),
})

const becomingStale = (extra: Partial<Step> = {}): Step => ({
  response: [['Cache-Control', 'max-age=2'], ['Date', 0], ['Template-A', '1'], ...(extra.response ?? [])],
  setup: true,
  pause: PAUSE,
  ...omit(extra, 'response'),
})

function omit<T extends object, K extends keyof T>(o: T, key: K): Omit<T, K> {
  const { [key]: _, ...rest } = o
  return rest
}

/** Stored with `response` (setup), then the second request expects `expect`. */
function pair(
  id: string,
  title: string,
  response: readonly Field[],
  expect: Step['expect'],
  options: {
    pause?: boolean
    kind?: Scenario['kind']
    second?: Partial<Step>
    first?: Partial<Step>
    gap?: string
  } = {},
): Scenario {
  const first: Step = {
    response,
    setup: true,
    ...(options.pause === false ? {} : { pause: PAUSE }),
    ...options.first,
  }
  const s: Scenario = {
    id,
    title,
    kind: options.kind ?? 'required',
    steps: [first, { ...(expect === undefined ? {} : { expect }), ...options.second }],
  }
  if (options.gap !== undefined) s.gap = options.gap
  return s
}

const scenarios: Scenario[] = []
const add = (...s: Scenario[]) => scenarios.push(...s)

// --- Freshness from Cache-Control -------------------------------------------------------

add(
  {
    id: 'freshness-max-age-stale',
    title: 'a max-age response is not reused once it is stale',
    kind: 'required',
    steps: [becomingStale(), { expect: 'not_cached' }],
  },
  pair('freshness-max-age-0', 'max-age=0 is never reused', [['Cache-Control', 'max-age=0']], 'not_cached'),
  pair(
    'freshness-max-age-age',
    'an Age above max-age makes the response stale on arrival',
    [
      ['Date', 0],
      ['Cache-Control', 'max-age=3600'],
      ['Age', '7200'],
    ],
    'not_cached',
  ),
  pair(
    'freshness-max-age-0-expires',
    'max-age=0 wins over a future Expires',
    [
      ['Expires', 3600],
      ['Cache-Control', 'max-age=0'],
      ['Date', 0],
    ],
    'not_cached',
  ),
  pair(
    'freshness-max-age-negative',
    'a negative max-age is not freshness',
    [['Cache-Control', 'max-age=-3600']],
    'not_cached',
  ),
  pair(
    'freshness-s-maxage-shared',
    'a shared cache reuses a response fresh by s-maxage',
    [['Cache-Control', 's-maxage=3600']],
    'cached',
  ),
  pair(
    'freshness-max-age-s-maxage-shared-longer',
    'a short s-maxage beats a long max-age in a shared cache',
    [['Cache-Control', 'max-age=3600, s-maxage=1']],
    'not_cached',
  ),
  pair(
    'freshness-max-age-s-maxage-shared-longer-reversed',
    'a short s-maxage beats a long max-age, in either order',
    [['Cache-Control', 's-maxage=1, max-age=3600']],
    'not_cached',
  ),
  pair(
    'freshness-max-age-s-maxage-shared-longer-multiple',
    'a short s-maxage beats a long max-age on another field line',
    [
      ['Cache-Control', 'max-age=3600'],
      ['Cache-Control', 's-maxage=1'],
    ],
    'not_cached',
  ),
  pair(
    'freshness-max-age',
    'a max-age response is reused while fresh',
    [['Cache-Control', 'max-age=3600']],
    'cached',
    {
      kind: 'optimal',
    },
  ),
  pair(
    'freshness-max-age-s-maxage-shared-shorter',
    'a long s-maxage beats a short max-age in a shared cache',
    [['Cache-Control', 'max-age=1, s-maxage=3600']],
    'cached',
    { kind: 'optimal' },
  ),
  pair(
    'freshness-max-age-s-maxage-shared-shorter-expires',
    'a long s-maxage beats max-age=0 and a past Expires',
    [
      ['Expires', -10],
      ['Cache-Control', 'max-age=0, s-maxage=3600'],
    ],
    'cached',
    { kind: 'optimal' },
  ),
)
for (const [id, value] of [
  ['freshness-max-age-max-minus-1', '2147483647'],
  ['freshness-max-age-max', '2147483648'],
  ['freshness-max-age-max-plus-1', '2147483649'],
  ['freshness-max-age-max-plus', '99999999999'],
] as const) {
  add(
    pair(
      id,
      `max-age=${value} is read as (at most) 2^31 seconds`,
      [['Cache-Control', `max-age=${value}`]],
      'cached',
      { kind: 'optimal' },
    ),
  )
}

// --- Cache-Control syntax ----------------------------------------------------------------

add(
  pair(
    'freshness-max-age-ignore-quoted',
    '"max-age=" inside a quoted string is not a directive (before the real one)',
    [['Cache-Control', 'extension="max-age=3600", max-age=1', false]],
    'not_cached',
  ),
  pair(
    'freshness-max-age-ignore-quoted-rev',
    '"max-age=" inside a quoted string is not a directive (after the real one)',
    [['Cache-Control', 'max-age=1, extension="max-age=3600"', false]],
    'not_cached',
  ),
  pair(
    'freshness-max-age-leading-zero',
    'delta-seconds may have leading zeros',
    [['Cache-Control', 'max-age=003600', false]],
    'cached',
  ),
  pair(
    'freshness-max-age-single-quoted',
    'a single-quoted max-age is not a number',
    [['Cache-Control', "max-age='3600'", false]],
    'not_cached',
  ),
  pair(
    'freshness-max-age-extension',
    'unknown directives are ignored',
    [['Cache-Control', 'foobar, max-age=3600']],
    'cached',
    {
      kind: 'optimal',
    },
  ),
  pair(
    'freshness-max-age-case-insenstive',
    'directive names are case-insensitive',
    [['Cache-Control', 'MaX-aGe=3600']],
    'cached',
    {
      kind: 'optimal',
    },
  ),
)

// --- Age --------------------------------------------------------------------------------

for (const [id, age, expect] of [
  ['age-parse-nonnumeric', 'abc', 'cached'],
  ['age-parse-negative', '-7200', 'cached'],
  ['age-parse-float', '7200.0', 'cached'],
  ['age-parse-large-minus-one', '2147483647', 'not_cached'],
  ['age-parse-large', '2147483648', 'not_cached'],
  ['age-parse-larger', '2147483649', 'not_cached'],
  ['age-parse-suffix', '7200, 0', 'not_cached'],
  ['age-parse-prefix', '0, 7200', 'cached'],
  ['age-parse-suffix-twoline', ['7200', '0'], 'not_cached'],
  ['age-parse-prefix-twoline', ['0', '7200'], 'cached'],
  ['age-parse-dup-0', '0, 0', 'cached'],
  ['age-parse-dup-0-twoline', ['0', '0'], 'cached'],
  ['age-parse-dup-old', ['3600', '3600'], 'cached'],
] as const) {
  const ages: Field[] = (typeof age === 'string' ? [age] : [...age]).map(
    (a: string): Field => ['Age', a, false],
  )
  const maxAge = id === 'age-parse-dup-old' ? 10000 : 3600
  add(
    pair(
      id,
      `Age ${JSON.stringify(age)} with max-age=${maxAge}: ${expect === 'cached' ? 'still fresh' : 'already stale'}`,
      [['Date', 0], ['Cache-Control', `max-age=${maxAge}`], ...ages],
      expect,
    ),
  )
}

// --- Cache-Control response directives ------------------------------------------------------

const storedThenNoStore = (id: string, cc: string): Scenario => ({
  id,
  title: `a fresh stored response is still used after a newer one came with "${cc}"`,
  kind: 'required',
  steps: [
    {
      response: [
        ['Cache-Control', 'max-age=10000'],
        ['Expires', 10000],
        ['Date', 0],
        ['A', '1'],
      ],
      setup: true,
      pause: PAUSE,
    },
    {
      response: [
        ['Cache-Control', cc],
        ['Date', 0],
        ['A', '2'],
      ],
      setup: true,
      pause: PAUSE,
    },
    { expect: 'cached', expectFields: [['a', '1']] },
  ],
})

add(
  pair(
    'cc-resp-private-shared',
    'a shared cache does not store private',
    [['Cache-Control', 'private, max-age=3600']],
    'not_cached',
    {
      pause: false,
    },
  ),
  pair('cc-resp-no-store', 'no-store is not stored', [['Cache-Control', 'no-store']], 'not_cached', {
    pause: false,
  }),
  pair(
    'cc-resp-no-store-case-insensitive',
    'No-StOrE is no-store',
    [['Cache-Control', 'No-StOrE']],
    'not_cached',
    { pause: false },
  ),
  pair(
    'cc-resp-no-store-fresh',
    'no-store is not stored even with max-age and Expires',
    [
      ['Cache-Control', 'max-age=10000, no-store'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
    { pause: false },
  ),
  storedThenNoStore('cc-resp-no-store-old-new', 'no-store'),
  storedThenNoStore('cc-resp-no-store-old-max-age', 'no-store, max-age=0'),
  pair(
    'cc-resp-no-cache',
    'no-cache is not reused without validation, even with max-age and Expires',
    [
      ['Cache-Control', 'max-age=10000, no-cache'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
    { pause: false },
  ),
  pair(
    'cc-resp-no-cache-case-insensitive',
    'No-CaChE is no-cache',
    [
      ['Cache-Control', 'max-age=10000, No-CaChE'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
    { pause: false },
  ),
  {
    id: 'cc-resp-must-revalidate-stale',
    title: 'a stale must-revalidate response is revalidated',
    kind: 'required',
    steps: [
      {
        response: [
          ['Cache-Control', 'max-age=2, must-revalidate'],
          ['ETag', '"abcd"'],
        ],
        setup: true,
      },
      {
        expect: 'cached',
        setup: true,
        pause: PAUSE,
        response: [
          ['Cache-Control', 'max-age=2, must-revalidate'],
          ['ETag', '"abcd"'],
        ],
      },
      { expect: 'etag_validated' },
    ],
  },
  pair(
    'cc-resp-no-cache-revalidate',
    'a no-cache response is stored and revalidated on use',
    [
      ['Cache-Control', 'no-cache'],
      ['ETag', '"abcd"'],
    ],
    'etag_validated',
    { kind: 'optimal', pause: false },
  ),
  pair(
    'cc-resp-must-revalidate-fresh',
    'a fresh must-revalidate response is reused',
    [
      ['Cache-Control', 'max-age=10000, must-revalidate'],
      ['ETag', '"abcd"'],
    ],
    'cached',
    { kind: 'optimal', pause: false },
  ),
)
for (const [id, cc, missing, kept] of [
  ['headers-omit-headers-listed-in-Cache-Control-no-cache-single', 'no-cache="a"', ['a'], ['b', '2']],
  ['headers-omit-headers-listed-in-Cache-Control-no-cache', 'no-cache="a, b"', ['a', 'b'], ['c', '3']],
] as const) {
  add({
    id,
    title: `${cc} keeps the listed fields out of an unvalidated answer`,
    kind: 'check',
    steps: [
      {
        response: [
          ['Cache-Control', cc],
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
          ['Cache-Control', 'max-age=3600'],
          ['Date', 0],
        ],
        setup: true,
        pause: PAUSE,
      },
      { expect: 'cached', setupType: true, expectFields: [kept], expectNoFields: missing },
    ],
  })
}

// --- Expires ------------------------------------------------------------------------------

add(
  pair(
    'freshness-expires-future',
    'a future Expires is freshness',
    [
      ['Expires', 30 * 24 * 3600],
      ['Date', 0],
    ],
    'cached',
    {
      kind: 'optimal',
    },
  ),
  pair(
    'freshness-expires-past',
    'a past Expires is stale',
    [
      ['Expires', -30 * 24 * 3600],
      ['Date', 0],
    ],
    'not_cached',
  ),
  pair(
    'freshness-expires-present',
    'Expires equal to Date is stale',
    [
      ['Expires', 0],
      ['Date', 0],
    ],
    'not_cached',
    { pause: false },
  ),
  pair(
    'freshness-expires-old-date',
    'Expires before Date is stale',
    [
      ['Expires', 300],
      ['Date', 400],
    ],
    'not_cached',
  ),
  pair(
    'freshness-expires-invalid',
    'Expires: 0 is already expired',
    [
      ['Expires', '0', false],
      ['Date', 0],
    ],
    'not_cached',
  ),
  pair(
    'freshness-expires-age-slow-date',
    'Age above Expires − Date is stale (Date behind)',
    [
      ['Date', -10],
      ['Expires', 10],
      ['Age', '25'],
    ],
    'not_cached',
    { pause: false },
  ),
  pair(
    'freshness-expires-age-fast-date',
    'Age above Expires − Date is stale (Date ahead)',
    [
      ['Date', 10],
      ['Expires', 20],
      ['Age', '15'],
    ],
    'not_cached',
    { pause: false },
  ),
  pair(
    'freshness-expires-invalid-date',
    'Expires works even with an unreadable Date',
    [
      ['Date', 'foo', false],
      ['Expires', 10],
    ],
    'cached',
    {
      kind: 'optimal',
      pause: false,
    },
  ),
)
for (const [id, value, pause] of [
  ['freshness-expires-invalid-utc', 'Thu, 18 Aug 2050 02:01:18 UTC', true],
  ['freshness-expires-invalid-aest', 'Thu, 18 Aug 2050 02:01:18 AEST', true],
  ['freshness-expires-invalid-2-digit-year', 'Thu, 18 Aug 50 02:01:18 GMT', true],
  ['freshness-expires-invalid-no-comma', 'Thu 18 Aug 2050 02:01:18 GMT', true],
  ['freshness-expires-invalid-multiple-spaces', 'Thu, 18  Aug  2050 02:01:18 GMT', false],
  ['freshness-expires-invalid-date-dashes', 'Thu, 18-Aug-2050 02:01:18 GMT', false],
  ['freshness-expires-invalid-time-periods', 'Thu, 18 Aug 2050 02.01.18 GMT', false],
  ['freshness-expires-invalid-1-digit-hour', 'Thu, 18 Aug 2050 2:01:18 GMT', false],
] as const) {
  add(
    pair(
      id,
      `Expires "${value}" is not an HTTP-date`,
      [
        ['Expires', value, false],
        ['Date', 0],
      ],
      'not_cached',
      { pause },
    ),
  )
}
add(
  pair(
    'freshness-expires-invalid-multiple-lines',
    'two Expires lines make the response stale',
    [
      ['Expires', 'Thu, 18 Aug 2050 02:01:18 GMT', false],
      ['Expires', 'Thu, 18 Aug 2050 02:01:19 GMT', false],
      ['Date', 0],
    ],
    'not_cached',
    { pause: false },
  ),
)
for (const [id, value] of [
  ['freshness-expires-32bit', 'Tue, 19 Jan 2038 14:14:08 GMT'],
  ['freshness-expires-far-future', 'Sun, 21 Nov 2286 04:46:39 GMT'],
  ['freshness-expires-rfc850', 'Thursday, 18-Aug-50 02:01:18 GMT'],
  ['freshness-expires-ansi-c', 'Thu Aug  8 02:01:18 2050'],
] as const) {
  add(
    pair(
      id,
      `Expires "${value}" is a future date`,
      [
        ['Expires', value, false],
        ['Date', 0],
      ],
      'cached',
      { kind: 'optimal' },
    ),
  )
}

// --- Heuristic freshness by status --------------------------------------------------------

for (const [code, cacheable, extra] of [
  [200, true],
  [201, false],
  [202, false],
  [203, true],
  [204, true],
  [403, false],
  [404, true],
  [405, true],
  [410, true],
  [414, true],
  [501, true],
  [502, false],
  [503, false],
  [504, false],
  [599, false],
  [599, true, ['Cache-Control', 'public'] as Field],
] as const) {
  const expect = cacheable ? 'cached' : 'not_cached'
  const body = code === 204 ? null : `status ${code}`
  const step = (first: boolean): Step => ({
    status: code,
    response: [['Last-Modified', -24 * 3600], ['Date', 0], ...(extra === undefined ? [] : [extra])],
    ...(body === null ? {} : { responseBody: body }),
    ...(first ? { setup: true } : { expect }),
  })
  add({
    id: `heuristic-${code}-${expect}`,
    title: `a ${code} with Last-Modified${extra === undefined ? '' : ' and public'} is ${cacheable ? '' : 'not '}heuristically fresh`,
    kind: cacheable ? 'optimal' : 'required',
    steps: [step(true), step(false)],
  })
}

// --- Status codes with explicit freshness --------------------------------------------------

for (const code of [
  200, 203, 204, 299, 301, 302, 303, 307, 308, 400, 404, 410, 499, 500, 502, 503, 504, 599,
]) {
  const body = code === 204 ? null : `status ${code}`
  const withBody = body === null ? {} : { responseBody: body }
  add(
    {
      id: `status-${code}-fresh`,
      title: `a fresh ${code} with explicit freshness is reused`,
      kind: 'optimal',
      steps: [fresh({ status: code, ...withBody }), { expect: 'cached', status: code, ...withBody }],
    },
    {
      id: `status-${code}-stale`,
      title: `a stale ${code} is not reused`,
      kind: 'required',
      steps: [stale({ status: code, ...withBody }), { expect: 'not_cached', ...withBody }],
    },
  )
}
add(
  {
    id: 'status-599-must-understand',
    title: 'an unknown status with no-store, must-understand is not stored',
    kind: 'required',
    steps: [
      { status: 599, response: [['Cache-Control', 'max-age=3600, no-store, must-understand']], setup: true },
      { expect: 'not_cached' },
    ],
  },
  {
    id: 'status-200-must-understand',
    title: 'a known status with no-store, must-understand is stored',
    kind: 'optimal',
    steps: [
      { status: 200, response: [['Cache-Control', 'max-age=3600, no-store, must-understand']], setup: true },
      { expect: 'cached' },
    ],
  },
)

// --- Vary ---------------------------------------------------------------------------------

const varied = (vary: string, request: readonly Field[], extra: Partial<Step> = {}): Step => ({
  request,
  response: [
    ['Cache-Control', 'max-age=5000'],
    ['Last-Modified', -3000],
    ['Date', 0],
    ['Vary', vary, false],
  ],
  setup: true,
  ...extra,
})
const foo1: Field[] = [['Foo', '1']]
const foo1bar: Field[] = [
  ['Foo', '1'],
  ['Bar', 'abc'],
]
const foo1bar1baz: Field[] = [...foo1bar, ['Baz', '789']]

add(
  {
    id: 'vary-match',
    title: 'a Vary response is reused for a matching request',
    kind: 'optimal',
    steps: [varied('Foo', foo1), { request: foo1, expect: 'cached' }],
  },
  {
    id: 'vary-no-match',
    title: 'a Vary response is not reused for another value',
    kind: 'required',
    steps: [varied('Foo', foo1), { request: [['Foo', '2']], expect: 'not_cached' }],
  },
  {
    id: 'vary-omit-stored',
    title: 'a Vary response stored without the field does not match a request with it',
    kind: 'required',
    steps: [varied('Foo', []), { request: foo1, expect: 'not_cached' }],
  },
  {
    id: 'vary-omit',
    title: 'a Vary response stored with the field does not match a request without it',
    kind: 'required',
    steps: [varied('Foo', foo1), { expect: 'not_cached' }],
  },
  {
    id: 'vary-invalidate',
    title: 'two variants are kept side by side',
    kind: 'optimal',
    steps: [
      varied('Foo', foo1, { responseBody: 'variant one' }),
      {
        ...varied('Foo', [['Foo', '2']], { responseBody: 'variant two' }),
        expect: 'not_cached',
        setup: true,
      },
      { request: foo1, responseBody: 'variant one', expect: 'cached' },
    ],
  },
  {
    id: 'vary-cache-key',
    title: 'fields not named by Vary are not part of the key',
    kind: 'optimal',
    steps: [
      varied('Foo', [...foo1, ['Other', '2']]),
      { request: [...foo1, ['Other', '3']], expect: 'cached' },
    ],
  },
  {
    id: 'vary-2-match',
    title: 'a two-field Vary response is reused for a match',
    kind: 'optimal',
    steps: [varied('Foo, Bar', foo1bar), { request: foo1bar, expect: 'cached' }],
  },
  {
    id: 'vary-2-no-match',
    title: 'a two-field Vary response is not reused when one differs',
    kind: 'required',
    steps: [
      varied('Foo, Bar', foo1bar),
      {
        request: [
          ['Foo', '2'],
          ['Bar', 'abc'],
        ],
        expect: 'not_cached',
      },
    ],
  },
  {
    id: 'vary-2-match-omit',
    title: 'a two-field Vary response does not match a request without the fields',
    kind: 'required',
    steps: [varied('Foo, Bar', foo1bar), { expect: 'not_cached' }],
  },
  {
    id: 'vary-3-match',
    title: 'a three-field Vary response is reused for a match',
    kind: 'optimal',
    steps: [varied('Foo, Bar, Baz', foo1bar1baz), { request: foo1bar1baz, expect: 'cached' }],
  },
  {
    id: 'vary-3-no-match',
    title: 'a three-field Vary response is not reused when one differs',
    kind: 'required',
    steps: [
      varied('Foo, Bar, Baz', foo1bar1baz),
      {
        request: [
          ['Foo', '2'],
          ['Bar', 'abc'],
          ['Baz', '789'],
        ],
        expect: 'not_cached',
      },
    ],
  },
  {
    id: 'vary-3-order',
    title: 'field order does not hide a different value',
    kind: 'required',
    steps: [
      varied('Foo, Bar, Baz', foo1bar1baz),
      {
        request: [
          ['Foo', '1'],
          ['Baz', '789'],
          ['Bar', 'abcde'],
        ],
        expect: 'not_cached',
      },
    ],
  },
  {
    id: 'vary-3-omit',
    title: 'a field absent from both requests matches',
    kind: 'optimal',
    steps: [
      varied('Foo, Bar, Baz', [
        ['Foo', '1'],
        ['Baz', '789'],
      ]),
      {
        request: [
          ['Foo', '1'],
          ['Baz', '789'],
        ],
        expect: 'cached',
      },
    ],
  },
  {
    id: 'vary-star',
    title: 'Vary: * never matches',
    kind: 'required',
    steps: [
      varied('*', [
        ['Foo', '1'],
        ['Baz', '789'],
      ]),
      {
        request: [
          ['Foo', '1'],
          ['Baz', '789'],
        ],
        expect: 'not_cached',
      },
    ],
  },
  {
    id: 'vary-normalise-combine',
    title: 'field lines are combined before comparing',
    kind: 'optimal',
    steps: [
      varied('Foo', [['Foo', '1, 2']]),
      {
        request: [
          ['Foo', '1'],
          ['Foo', '2'],
        ],
        expect: 'cached',
      },
    ],
  },
  {
    id: 'vary-normalise-lang-case',
    title: 'Accept-Language is compared without case',
    kind: 'optimal',
    steps: [
      varied('Accept-Language', [['Accept-Language', 'en, de']]),
      { request: [['Accept-Language', 'eN, De']], expect: 'cached' },
    ],
  },
  {
    id: 'vary-normalise-lang-space',
    title: 'whitespace around list members is ignored',
    kind: 'optimal',
    steps: [
      varied('Accept-Language', [['Accept-Language', 'en, de']]),
      { request: [['Accept-Language', ' en ,   de']], expect: 'cached' },
    ],
  },
  {
    id: 'vary-normalise-space',
    title: 'whitespace in unknown fields is ignored',
    kind: 'optimal',
    steps: [varied('Foo', [['Foo', '1,2']]), { request: [['Foo', ' 1, 2 ']], expect: 'cached' }],
  },
  {
    id: 'vary-normalise-lang-order',
    title: 'Accept-Language member order is ignored',
    kind: 'optimal',
    steps: [
      varied('Accept-Language', [['Accept-Language', 'en, de']]),
      { request: [['Accept-Language', 'de, en']], expect: 'cached' },
    ],
    gap: 'Accept-Language order carries preference when q-values are equal, so it is kept in the key',
  },
  {
    id: 'vary-normalise-lang-select',
    title: 'a variant is chosen by Content-Language against Accept-Language q-values',
    kind: 'optimal',
    steps: [
      {
        ...varied('Accept-Language', [['Accept-Language', 'en, de']]),
        response: [
          ['Cache-Control', 'max-age=5000'],
          ['Last-Modified', -3000],
          ['Date', 0],
          ['Vary', 'Accept-Language'],
          ['Content-Language', 'de'],
        ],
      },
      { request: [['Accept-Language', 'fr;q=0.5, de;q=1.0']], expect: 'cached' },
    ],
    gap: 'variants are matched by the request fields Vary names, not by negotiating Content-Language',
  },
)
for (const [id, lines] of [
  ['vary-syntax-star', ['*']],
  ['vary-syntax-star-star', ['*, *']],
  ['vary-syntax-star-star-lines', ['*', '*']],
  ['vary-syntax-empty-star', [', *']],
  ['vary-syntax-empty-star-lines', ['', '*']],
  ['vary-syntax-star-foo', ['*, Foo']],
  ['vary-syntax-foo-star', ['Foo, *']],
] as const) {
  const req: Field[] = [
    ['Foo', '1'],
    ['Baz', '789'],
  ]
  add({
    id,
    title: `Vary ${lines.map((l) => JSON.stringify(l)).join(' + ')} contains * and never matches`,
    kind: 'required',
    steps: [
      {
        request: req,
        response: [
          ['Cache-Control', 'max-age=5000'],
          ['Last-Modified', -3000],
          ['Date', 0],
          ...lines.map((l): Field => ['Vary', l, false]),
        ],
        setup: true,
      },
      { request: req, expect: 'not_cached' },
    ],
  })
}

// --- Conditional requests -----------------------------------------------------------------

add(
  {
    id: 'conditional-304-etag',
    title: 'a 304 from the cache carries the ETag',
    kind: 'required',
    steps: [
      fresh({ response: [['ETag', '"abcdef"']] }),
      {
        request: [['If-None-Match', '"abcdef"']],
        expect: 'cached',
        expectStatus: 304,
        expectFields: [['ETag', '"abcdef"']],
      },
    ],
  },
  {
    id: 'conditional-etag-precedence',
    title: 'If-None-Match takes precedence over If-Modified-Since',
    kind: 'required',
    steps: [
      fresh({
        response: [
          ['Last-Modified', -5000],
          ['ETag', '"abcdef"'],
        ],
      }),
      {
        request: [
          ['If-None-Match', '"abcdef"'],
          ['If-Modified-Since', -1],
        ],
        expect: 'cached',
        expectStatus: 304,
      },
    ],
  },
  {
    id: 'conditional-etag-vary-headers',
    title: 'a validation request carries the fields Vary names',
    kind: 'required',
    steps: [
      {
        request: [['Abc', '123']],
        response: [
          ['Expires', 1],
          ['ETag', '"abcdef"'],
          ['Date', 0],
          ['Vary', 'Abc'],
        ],
        setup: true,
        pause: PAUSE,
      },
      {
        request: [['Abc', '123']],
        expect: 'etag_validated',
        setupType: true,
        expectRequestFields: [['Abc', '123']],
      },
    ],
  },
  {
    id: 'conditional-etag-strong-respond',
    title: 'a matching strong If-None-Match is answered 304 from a fresh entry',
    kind: 'optimal',
    steps: [
      fresh({ response: [['ETag', '"abcdef"']] }),
      { request: [['If-None-Match', '"abcdef"']], expect: 'cached', expectStatus: 304 },
    ],
  },
  {
    id: 'conditional-etag-weak-respond',
    title: 'a matching weak If-None-Match is answered 304 from a fresh entry',
    kind: 'optimal',
    steps: [
      fresh({ response: [['ETag', 'W/"abcdef"']] }),
      { request: [['If-None-Match', 'W/"abcdef"']], expect: 'cached', expectStatus: 304 },
    ],
  },
  {
    id: 'conditional-etag-strong-generate',
    title: 'a stale entry with an ETag is revalidated with If-None-Match',
    kind: 'optimal',
    steps: [
      becomingStale({ response: [['ETag', '"abcdef"']] }),
      { expect: 'etag_validated', expectRequestFields: [['If-None-Match', '"abcdef"']] },
    ],
  },
  {
    id: 'conditional-lm-fresh',
    title: 'a matching If-Modified-Since is answered 304 from a fresh entry',
    kind: 'optimal',
    steps: [
      {
        response: [
          ['Cache-Control', 'max-age=100000'],
          ['Last-Modified', -3000],
          ['Date', 0],
        ],
        setup: true,
        pause: PAUSE,
      },
      { request: [['If-Modified-Since', -3003]], expect: 'cached', expectStatus: 304 },
    ],
  },
  {
    id: 'conditional-lm-stale',
    title: "a stale entry is revalidated, then the client's If-Modified-Since is answered 304",
    kind: 'optimal',
    steps: [
      {
        response: [
          ['Cache-Control', 'max-age=2'],
          ['Last-Modified', -3000],
          ['Date', 0],
        ],
        setup: true,
        pause: PAUSE,
      },
      { request: [['If-Modified-Since', -3003]], expect: 'lm_validated', expectStatus: 304 },
    ],
  },
)
for (const [n, list] of [
  ['first', '"abcdef", "1234", "5678"'],
  ['second', '"1234", "abcdef", "5678"'],
  ['last', '"1234", "5678", "abcdef"'],
] as const) {
  add({
    id: `conditional-etag-strong-respond-multiple-${n}`,
    title: `an If-None-Match list matching its ${n} member is answered 304`,
    kind: 'optimal',
    steps: [
      fresh({ response: [['ETag', '"abcdef"']] }),
      { request: [['If-None-Match', list]], expect: 'cached', expectStatus: 304 },
    ],
  })
}

// --- Storing header fields ----------------------------------------------------------------

/** Fields a cache must store and replay, with a value each; `stored: false` ones are hop-by-hop. */
const FIELDS: Array<{ name: string; value: string; stored: boolean; body?: string; ownFraming?: boolean }> = [
  { name: 'Test-Header', value: 'stored-test-header', stored: true },
  { name: 'X-Test-Header', value: 'stored-x-test-header', stored: true },
  { name: 'Content-Foo', value: 'stored-content-foo', stored: true },
  { name: 'X-Content-Foo', value: 'stored-x-content-foo', stored: true },
  { name: 'Cache-Control', value: 'max-age=3600', stored: true },
  { name: 'Connection', value: 'x-stored-token', stored: false },
  { name: 'Content-Encoding', value: 'stored-coding', stored: true },
  { name: 'Content-Length', value: '10', stored: true, body: '0123456789' },
  { name: 'Content-Location', value: '/bar', stored: true },
  { name: 'Content-MD5', value: 'N7UdGUp1E+RbVvZSTy1R8g==', stored: true },
  { name: 'Content-Range', value: 'stored-range', stored: true },
  { name: 'Content-Security-Policy', value: "default-src 'self' cdn.example.com", stored: true },
  { name: 'Content-Type', value: 'text/plain;charset=utf-8', stored: true },
  { name: 'Clear-Site-Data', value: 'cookies', stored: true },
  { name: 'ETag', value: '"ghijkl"', stored: true },
  { name: 'Expires', value: 'Mon, 11 Jan 2038 11:11:11 GMT', stored: true },
  { name: 'Keep-Alive', value: 'timeout=30, max=77', stored: false },
  { name: 'Proxy-Authenticate', value: 'Basic realm="proxy"', stored: false },
  { name: 'Proxy-Authentication-Info', value: 'nextnonce="abc"', stored: false },
  { name: 'Proxy-Authorization', value: 'Basic abc', stored: false },
  { name: 'Proxy-Connection', value: 'keep-alive', stored: false },
  { name: 'Public-Key-Pins', value: 'stored-pins', stored: true },
  { name: 'Set-Cookie', value: 'a=c', stored: true },
  { name: 'Set-Cookie2', value: 'a=c', stored: true },
  { name: 'TE', value: 'trailers', stored: false },
  // The proxy frames its own answers: chunked may come back from it, not from the store.
  { name: 'Transfer-Encoding', value: 'chunked', stored: false, ownFraming: true },
  { name: 'Upgrade', value: 'websocket', stored: false },
  { name: 'X-Frame-Options', value: 'sameorigin', stored: true },
  { name: 'X-XSS-Protection', value: '1; mode=block', stored: true },
]

add({
  id: 'headers-omit-headers-listed-in-Connection',
  title: 'fields named by Connection are neither stored nor replayed',
  kind: 'required',
  steps: [
    fresh({
      response: [
        ['Connection', 'a, b', false],
        ['a', '1', false],
        ['b', '2', false],
        ['c', '3', false],
      ],
    }),
    { expect: 'cached', setupType: true, expectFields: [['c', '3']], expectNoFields: ['a', 'b'] },
  ],
})
for (const f of FIELDS) {
  const response: Field[] = [
    ['Date', 0],
    [f.name, f.value, f.stored],
  ]
  if (f.name !== 'Cache-Control') response.push(['Cache-Control', 'max-age=3600'])
  add({
    id: `headers-store-${f.name}`,
    title: f.stored
      ? `${f.name} is stored and replayed`
      : `${f.name} is hop-by-hop: neither stored nor replayed`,
    kind: 'required',
    steps: [
      { response, setup: true, pause: PAUSE, ...(f.body === undefined ? {} : { responseBody: f.body }) },
      {
        expect: 'cached',
        setupType: true,
        ...(f.stored
          ? { expectFields: [[f.name, f.value] as const] }
          : f.ownFraming === true
            ? {}
            : { expectNotValues: [[f.name, f.value] as const] }),
        ...(f.body === undefined ? {} : { responseBody: f.body }),
      },
    ],
  })
}

// --- Updating stored fields from a 304 -----------------------------------------------------

const LM = 'Wed, 01 Jan 2020 00:00:00 GMT'
add({
  id: '304-lm-use-stored-Test-Header',
  title: 'a field the 304 omits is served as stored',
  kind: 'required',
  steps: [
    {
      response: [
        ['Cache-Control', 'max-age=2'],
        ['Last-Modified', LM],
        ['Date', 0],
        ['Test-Header', 'value-a'],
      ],
      setup: true,
      pause: PAUSE,
    },
    {
      response: [
        ['Last-Modified', LM],
        ['Date', 0],
      ],
      expect: 'lm_validated',
      setupType: true,
      expectFields: [['Test-Header', 'value-a']],
    },
  ],
})
for (const f of [
  { name: 'Test-Header', a: 'value-a', b: 'value-b', update: true },
  { name: 'X-Test-Header', a: 'value-a', b: 'value-b', update: true },
  { name: 'Content-Foo', a: 'value-a', b: 'value-b', update: true },
  { name: 'X-Content-Foo', a: 'value-a', b: 'value-b', update: true },
  { name: 'Cache-Control', a: 'max-age=1', b: 'max-age=3600', update: true },
  { name: 'Content-Length', a: '5', b: '10', update: false },
  {
    name: 'Content-Type',
    a: 'text/plain',
    b: 'text/plain;charset=utf-8',
    update: true,
    kind: 'check' as const,
  },
  { name: 'X-Frame-Options', a: 'deny', b: 'sameorigin', update: true, kind: 'check' as const },
]) {
  const etag = `"${f.name.toLowerCase()}-etag"`
  const want = f.update ? f.b : f.a
  const fields = (value: string, validator: boolean): Field[] => {
    const out: Field[] = [
      ['Date', 0],
      [f.name, value, f.update],
    ]
    if (f.name !== 'Cache-Control') out.push(['Cache-Control', 'max-age=2'])
    if (validator) out.push(['ETag', etag])
    return out
  }
  const body = f.name === 'Content-Length' ? { responseBody: '01234' } : {}
  add({
    id: `304-etag-update-response-${f.name}`,
    title: f.update ? `a 304 updates the stored ${f.name}` : `a 304 never updates the stored ${f.name}`,
    kind: f.kind ?? 'required',
    steps: [
      { response: fields(f.a, true), setup: true, pause: PAUSE, ...body },
      {
        response: fields(f.b, true),
        expect: 'etag_validated',
        setupType: true,
        expectFields: [[f.name, want]],
        ...body,
      },
      {
        response: fields(want, false),
        expect: 'cached',
        setupType: true,
        expectFields: [[f.name, want]],
        ...body,
      },
    ],
  })
}

// --- Invalidation ---------------------------------------------------------------------------

const at = (suffix: string, step: Step): Step => ({ ...step, suffix })
for (const method of ['POST', 'PUT', 'DELETE', 'M-SEARCH']) {
  add(
    {
      id: `invalidate-${method}`,
      title: `a successful ${method} invalidates its URL`,
      kind: 'required',
      steps: [fresh(), { method, body: 'abc', setup: true }, { expect: 'not_cached' }],
    },
    {
      id: `invalidate-${method}-failed`,
      title: `a failed ${method} leaves the stored response`,
      kind: 'optimal',
      steps: [fresh(), { method, body: 'abc', status: 500, setup: true }, { expect: 'cached' }],
    },
    {
      id: `invalidate-${method}-location`,
      title: `a successful ${method} invalidates its same-origin Location`,
      kind: 'check',
      steps: [
        at('/location_target', fresh({ pause: 0 })),
        {
          method,
          body: 'abc',
          setup: true,
          locations: true,
          response: [
            ['Location', 'location_target'],
            ['Content-Location', 'content_location_target'],
          ],
        },
        at('/location_target', { expect: 'not_cached' }),
      ],
    },
    {
      id: `invalidate-${method}-cl`,
      title: `a successful ${method} invalidates its same-origin Content-Location`,
      kind: 'check',
      steps: [
        at('/content_location_target', fresh({ pause: 0 })),
        {
          method,
          body: 'abc',
          setup: true,
          locations: true,
          response: [
            ['Location', 'location_target'],
            ['Content-Location', 'content_location_target'],
          ],
        },
        at('/content_location_target', { expect: 'not_cached' }),
      ],
    },
  )
}

// --- Stale responses ------------------------------------------------------------------------

add({
  id: 'stale-while-revalidate-window',
  title: 'stale-while-revalidate ends with its window',
  kind: 'required',
  steps: [
    {
      response: [
        ['Cache-Control', 'max-age=1, stale-while-revalidate=4'],
        ['ETag', '"abc"'],
      ],
      setup: true,
      pause: PAUSE,
    },
    {
      response: [
        ['Cache-Control', 'no-cache', false],
        ['ETag', '"def"', false],
      ],
      expect: 'cached',
      setup: true,
      pause: PAUSE,
      background: true,
    },
    { expectFields: [['x-step-seen', '3']] },
  ],
})
for (const [cc, shared] of [
  ['must-revalidate', false],
  ['proxy-revalidate', true],
  ['no-cache', false],
  ['s-maxage=2', true],
] as const) {
  add({
    id: `stale-close-${cc}`,
    title: `${shared ? 'a shared cache' : 'a cache'} does not serve a stale response with ${cc} when the origin fails`,
    kind: 'required',
    steps: [
      { response: [['Cache-Control', `max-age=2, ${cc}`]], setup: true, pause: PAUSE },
      { disconnect: true, expectStatus: null, checkBody: false, expectNoFields: ['x-origin-count'] },
    ],
  })
}
add(
  {
    id: 'stale-while-revalidate',
    title: 'a stale response within stale-while-revalidate is served at once',
    kind: 'optimal',
    steps: [
      {
        response: [
          ['Cache-Control', 'max-age=1, stale-while-revalidate=3600'],
          ['ETag', '"abc"'],
        ],
        setup: true,
        pause: PAUSE,
      },
      { expect: 'cached', background: true },
    ],
  },
  {
    id: 'stale-close',
    title: 'a stale response is served when the origin closes the connection',
    kind: 'check',
    steps: [becomingStale(), { disconnect: true, expect: 'cached' }],
    gap: 'stale responses are served on errors only within stale-if-error (RFC 9111 §4.2.4 allows more, nothing requires it)',
  },
  {
    id: 'stale-sie-close',
    title: 'stale-if-error serves the stale response when the origin closes the connection',
    kind: 'check',
    steps: [
      { response: [['Cache-Control', 'max-age=2, stale-if-error=60']], setup: true, pause: PAUSE },
      { disconnect: true, expect: 'cached' },
    ],
  },
  {
    id: 'stale-sie-503',
    title: 'stale-if-error serves the stale response when the origin answers 503',
    kind: 'check',
    steps: [
      { response: [['Cache-Control', 'max-age=2, stale-if-error=60']], setup: true, pause: PAUSE },
      { status: 503, expectStatus: 200, expect: 'cached' },
    ],
  },
)

// --- Other requirements ---------------------------------------------------------------------

add(
  {
    id: 'other-age-gen',
    title: 'a stored response gets an Age',
    kind: 'required',
    steps: [fresh(), { expect: 'cached', expectFields: [['Age', '>', 2]] }],
  },
  {
    id: 'other-age-update-expires',
    title: 'Age grows from the received Age (Expires freshness)',
    kind: 'required',
    steps: [
      {
        response: [
          ['Expires', 30 * 24 * 3600],
          ['Date', 0],
          ['Age', '30'],
        ],
        setup: true,
        pause: PAUSE,
      },
      { expect: 'cached', expectFields: [['Age', '>', 32]] },
    ],
  },
  {
    id: 'other-age-update-max-age',
    title: 'Age grows from the received Age (max-age freshness)',
    kind: 'required',
    steps: [fresh({ response: [['Age', '30']] }), { expect: 'cached', expectFields: [['Age', '>', 32]] }],
  },
  {
    id: 'other-date-update',
    title: 'the stored Date is served unchanged',
    kind: 'required',
    steps: [fresh(), { expect: 'cached', expectFields: [['Date', -PAUSE]] }],
  },
  {
    id: 'other-date-update-expires',
    title: 'the stored Date is served unchanged (Expires freshness)',
    kind: 'required',
    steps: [
      {
        response: [
          ['Expires', 30 * 24 * 3600],
          ['Date', 0],
        ],
        setup: true,
        pause: PAUSE,
      },
      { expect: 'cached', expectFields: [['Date', -PAUSE]] },
    ],
  },
  {
    id: 'query-args-different',
    title: 'a different query is a different response',
    kind: 'required',
    steps: [fresh({ suffix: '?test=one' }), { suffix: '?test=two', expect: 'not_cached' }],
  },
  {
    id: 'query-args-same',
    title: 'the same query is the same response',
    kind: 'optimal',
    steps: [fresh({ suffix: '?test=one' }), { suffix: '?test=one', expect: 'cached' }],
  },
  {
    id: 'other-set-cookie',
    title: 'a response with Set-Cookie is reused',
    kind: 'optimal',
    steps: [fresh({ response: [['Set-Cookie', 'a=b']] }), { expect: 'cached' }],
  },
  {
    id: 'other-cookie',
    title: 'a request with Cookie is answered from the cache',
    kind: 'optimal',
    steps: [fresh(), { request: [['Cookie', 'a=b']], expect: 'cached' }],
  },
  {
    id: 'other-authorization',
    title: 'a shared cache does not reuse an answer to a request with Authorization',
    kind: 'required',
    steps: [
      fresh({ request: [['Authorization', 'FOO']], expectRequestFields: [['Authorization', 'FOO']] }),
      { expect: 'not_cached' },
    ],
  },
)
for (const [id, cc] of [
  ['other-authorization-public', 'max-age=3600, public'],
  ['other-authorization-must-revalidate', 'max-age=3600, must-revalidate'],
  ['other-authorization-smaxage', 's-maxage=3600'],
] as const) {
  add({
    id,
    title: `an answer to Authorization with ${cc} is reused`,
    kind: 'optimal',
    steps: [
      {
        request: [['Authorization', 'FOO']],
        response: [
          ['Cache-Control', cc],
          ['Date', 0],
        ],
        setup: true,
        pause: PAUSE,
      },
      { expect: 'cached' },
    ],
  })
}

// --- Ranges --------------------------------------------------------------------------------

const complete: Step = {
  response: [
    ['Cache-Control', 'max-age=3600'],
    ['A', '1'],
  ],
  responseBody: '01234567890',
  setup: true,
}
add(
  {
    id: 'partial-use-headers',
    title: 'a range cut from a stored response is answered without the origin',
    kind: 'required',
    steps: [
      complete,
      {
        request: [['Range', 'bytes=0-1']],
        expect: 'cached',
        expectStatus: 206,
        expectBody: '01',
        setup: true,
        response: [['A', '2']],
      },
    ],
  },
  {
    id: 'partial-use-stored-headers',
    title: 'a range cut from a stored response keeps its fields',
    kind: 'required',
    steps: [
      complete,
      {
        request: [['Range', 'bytes=0-1']],
        expect: 'cached',
        expectStatus: 206,
        expectBody: '01',
        setupType: true,
        expectFields: [['A', '1']],
      },
    ],
  },
)
for (const [id, range, text] of [
  ['partial-store-complete-reuse-partial', 'bytes=0-1', '01'],
  ['partial-store-complete-reuse-partial-no-last', 'bytes=1-', '1234567890'],
  ['partial-store-complete-reuse-partial-suffix', 'bytes=-1', '0'],
] as const) {
  add({
    id,
    title: `${range} is cut from a stored complete response`,
    kind: 'optimal',
    steps: [complete, { request: [['Range', range]], expect: 'cached', expectStatus: 206, expectBody: text }],
  })
}

// --- Interim responses --------------------------------------------------------------------

add({
  id: 'interim-not-cached',
  title: 'a 103 is passed on and never stored',
  kind: 'required',
  steps: [
    {
      interim: [103],
      expectInterim: [103],
      response: [
        ['Cache-Control', 'max-age=100000'],
        ['Date', 0],
      ],
      pause: PAUSE,
    },
    { expect: 'cached', expectInterim: [] },
  ],
})

// --- Targeted fields: CDN-Cache-Control (RFC 9213) and Surrogate-Control ----------------------

add(
  pair(
    'cdn-max-age',
    'CDN-Cache-Control: max-age is freshness',
    [['CDN-Cache-Control', 'max-age=3600', false]],
    'cached',
    { kind: 'optimal' },
  ),
  pair(
    'cdn-max-age-age',
    'Age above CDN-Cache-Control: max-age is stale',
    [
      ['Date', 0],
      ['CDN-Cache-Control', 'max-age=3600', false],
      ['Age', '7200'],
    ],
    'not_cached',
  ),
  pair(
    'cdn-max-age-0',
    'CDN-Cache-Control: max-age=0 is never reused',
    [['CDN-Cache-Control', 'max-age=0', false]],
    'not_cached',
  ),
  pair(
    'cdn-max-age-0-expires',
    'CDN-Cache-Control: max-age=0 wins over a future Expires',
    [
      ['CDN-Cache-Control', 'max-age=0', false],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  pair(
    'cdn-max-age-long-cc-max-age',
    'a short CDN-Cache-Control: max-age wins over a long Cache-Control one',
    [
      ['Cache-Control', 'max-age=3600'],
      ['CDN-Cache-Control', 'max-age=1', false],
    ],
    'not_cached',
  ),
  pair(
    'cdn-max-age-short-cc-max-age',
    'a long CDN-Cache-Control: max-age wins over a short Cache-Control one',
    [
      ['Cache-Control', 'max-age=1'],
      ['CDN-Cache-Control', 'max-age=3600', false],
    ],
    'cached',
    { kind: 'optimal' },
  ),
  pair(
    'cdn-private',
    'CDN-Cache-Control: private keeps the response out of the cache',
    [
      ['CDN-Cache-Control', 'private'],
      ['Cache-Control', 'max-age=10000'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
    { pause: false },
  ),
  pair(
    'cdn-no-cache',
    'CDN-Cache-Control: no-cache forbids reuse without validation',
    [
      ['CDN-Cache-Control', 'no-cache'],
      ['Cache-Control', 'max-age=10000'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
    { pause: false },
  ),
  pair(
    'cdn-no-store-cc-fresh',
    'CDN-Cache-Control: no-store wins over a fresh Cache-Control',
    [
      ['Cache-Control', 'max-age=10000'],
      ['CDN-Cache-Control', 'no-store', false],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  pair(
    'cdn-fresh-cc-nostore',
    'CDN-Cache-Control: max-age wins over Cache-Control: no-store',
    [
      ['Cache-Control', 'no-store'],
      ['CDN-Cache-Control', 'max-age=10000', false],
    ],
    'cached',
  ),
  pair(
    'cdn-cc-invalid-sh-type-unknown',
    'a CDN-Cache-Control that is not a Structured Field dictionary is ignored',
    [
      ['CDN-Cache-Control', 'max-age=10000, &&&&&', false],
      ['Cache-Control', 'no-store'],
    ],
    'not_cached',
  ),
  pair(
    'cdn-cc-invalid-sh-type-wrong',
    'a CDN-Cache-Control max-age that is a string is ignored',
    [
      ['CDN-Cache-Control', 'max-age="10000"', false],
      ['Cache-Control', 'no-store'],
    ],
    'not_cached',
  ),
)
const surrogateGap =
  'Surrogate-Control (a W3C Note superseded by RFC 9213 targeted fields) is not implemented'
add(
  pair(
    'surrogate-max-age-other-target',
    'Surrogate-Control for another device is ignored',
    [
      ['Date', 0],
      ['Surrogate-Control', 'max-age=3600;not-for-you', false],
      ['Age', '7200'],
    ],
    'not_cached',
  ),
  pair(
    'surrogate-max-age-age',
    'Age above Surrogate-Control: max-age is stale',
    [
      ['Date', 0],
      ['Surrogate-Control', 'max-age=3600', false],
      ['Age', '7200'],
    ],
    'not_cached',
  ),
  pair(
    'surrogate-max-age-0',
    'Surrogate-Control: max-age=0 is never reused',
    [['Surrogate-Control', 'max-age=0', false]],
    'not_cached',
  ),
  pair(
    'surrogate-max-age-0-expires',
    'Surrogate-Control: max-age=0 wins over a future Expires',
    [
      ['Surrogate-Control', 'max-age=0', false],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  pair(
    'surrogate-max-age-long-cc-max-age',
    'a short Surrogate-Control: max-age wins over a long Cache-Control one',
    [
      ['Cache-Control', 'max-age=3600'],
      ['Surrogate-Control', 'max-age=1', false],
    ],
    'not_cached',
  ),
  pair(
    'surrogate-no-store',
    'Surrogate-Control: no-store is not stored',
    [['Surrogate-Control', 'no-store', false]],
    'not_cached',
  ),
  pair(
    'surrogate-no-store-cc-fresh',
    'Surrogate-Control: no-store wins over a fresh Cache-Control',
    [
      ['Cache-Control', 'max-age=10000'],
      ['Surrogate-Control', 'no-store', false],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  pair(
    'surrogate-fresh-cc-nostore',
    'a Surrogate-Control: max-age for this device wins over Cache-Control: no-store',
    [
      ['Cache-Control', 'no-store'],
      ['Surrogate-Control', 'max-age=10000;CAPABILITY_TARGET', false],
    ],
    'cached',
    { gap: surrogateGap },
  ),
)

export default scenarios
