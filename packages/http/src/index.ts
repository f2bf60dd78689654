// The public surface of @x/http: the Listener and Client endpoints.
export {}
