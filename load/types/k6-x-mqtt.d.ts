/**
 * A minimal declaration of the xk6-mqtt extension (`k6/x/mqtt`, github.com/grafana/xk6-mqtt),
 * written from its documented API (grafana.com/docs/k6/latest/javascript-api/k6-x-mqtt/) for the
 * parts the Logitrack load scripts use. Option names are snake_case, as k6 maps them onto the
 * extension's Go structs.
 */
declare module "k6/x/mqtt" {
  export type QoS = 0 | 1 | 2;
  export type Tags = Record<string, string>;

  export interface ClientOptions {
    /** must be unique per broker connection; the broker assigns one when absent */
    client_id?: string;
    username?: string;
    password?: string;
    /** called at each (re)connect instead of username/password */
    credentials_provider?: () => { username: string; password: string };
    will?: { topic: string; payload: string; qos?: QoS; retain?: boolean };
    tags?: Tags;
  }

  export interface ConnectOptions {
    /** seconds (default 60) */
    keepalive?: number;
    /** milliseconds (default 30000) */
    connect_timeout?: number;
    /** default true */
    clean_session?: boolean;
    /** more broker URLs, for failover */
    servers?: string[];
    tags?: Tags;
  }

  export interface PublishOptions {
    qos?: QoS;
    retain?: boolean;
    tags?: Tags;
  }

  export interface SubscribeOptions {
    qos?: QoS;
    tags?: Tags;
  }

  /** what `error` listeners receive; without a listener, the failing call throws it */
  export interface MQTTError {
    name: "MQTTError";
    method: string;
    message: string;
  }

  export class Client {
    constructor(options?: ClientOptions);
    /** true while the connection to the broker is up */
    readonly connected: boolean;
    /** blocks until CONNACK; the `connect` event follows */
    connect(url: string, options?: ConnectOptions): void;
    connectAsync(url: string, options?: ConnectOptions): Promise<void>;
    /** at QoS 1 and 2, blocks until the broker acknowledged */
    publish(topic: string, payload: string | ArrayBuffer, options?: PublishOptions): void;
    publishAsync(topic: string, payload: string | ArrayBuffer, options?: PublishOptions): Promise<void>;
    subscribe(topic: string | string[], options?: SubscribeOptions): void;
    subscribeAsync(topic: string | string[], options?: SubscribeOptions): Promise<void>;
    end(options?: { tags?: Tags }): void;
    endAsync(options?: { tags?: Tags }): Promise<void>;
    on(event: "connect" | "reconnect" | "end", listener: () => void): void;
    on(event: "message", listener: (topic: string, payload: ArrayBuffer) => void): void;
    on(event: "error", listener: (error: MQTTError) => void): void;
  }
}
