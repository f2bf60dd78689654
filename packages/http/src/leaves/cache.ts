// `@x/http/cache`: the public surface of `@x/cache`, unchanged, so one install of @x/http reaches it.
// A re-export entry is the one place `export *` is right: it must follow the leaf's surface exactly.
export * from '@x/cache'
