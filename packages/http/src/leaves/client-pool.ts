// `@x/http/client-pool`: the public surface of `@x/client-pool`, unchanged, so one install of @x/http reaches it.
// A re-export entry is the one place `export *` is right: it must follow the leaf's surface exactly.
export * from '@x/client-pool'
