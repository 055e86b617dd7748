export declare const WEBVIEW_ENV: Readonly<Record<string, string>>;
export declare function withWebviewEnv<E extends Record<string, string | undefined>>(env: E): E & Record<string, string>;
export declare function webviewEnvShell(): string;
