import { defineConfig } from "vite";

// The dashboard builds to dist/, which `campus serve --web-dir web/dist` serves at `/`.
// `npm run dev` proxies the API to a local `make run` so calls stay same-origin.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, target: "es2022" },
  server: {
    proxy: {
      "^/(campus|grpc)\\.": { target: "http://127.0.0.1:50051", changeOrigin: false },
    },
  },
});
