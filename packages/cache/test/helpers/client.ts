// One undici Agent composed with an interceptor, and a GET that reads the whole answer.
import { Agent, type Dispatcher, request } from 'undici'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface TestClient {
  readonly dispatcher: Dispatcher
  send(
    url: string,
    options?: { method?: string; headers?: Record<string, string | string[]>; body?: string },
  ): Promise<Answer>
  close(): Promise<void>
}

export function client(...interceptors: Dispatcher.DispatcherComposeInterceptor[]): TestClient {
  const agent = new Agent({ keepAliveTimeout: 1000 })
  const dispatcher = agent.compose(...interceptors)
  return {
    dispatcher,
    async send(url, options = {}) {
      const res = await request(url, {
        dispatcher,
        method: (options.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: options.headers ?? {},
        ...(options.body === undefined ? {} : { body: options.body }),
      })
      const body = await res.body.text()
      return { status: res.statusCode, headers: res.headers, body }
    },
    close: () => agent.close(),
  }
}
