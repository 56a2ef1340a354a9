# The campus binary in a minimal image.
#
# Runtime: gcr.io/distroless/cc-debian12:nonroot. The binary links glibc dynamically; its TLS
# is rustls with the ring crypto provider (built with the compiler rust:1-bookworm has; no
# cmake, no OpenSSL), so distroless "cc" (glibc, libgcc, CA certificates for the system's trust store,
# no shell, no package manager) runs it as is, without a musl cross-build; it runs as the
# image's non-root user 65532, which the Kubernetes manifests also require.

# The dashboard: its clients generated from proto/, built and pre-compressed by Vite.
FROM node:20-bookworm AS web
WORKDIR /src
COPY proto proto
COPY web web
RUN cd web && npm ci --no-audit --no-fund && npm run build

FROM rust:1-bookworm AS build
WORKDIR /src
# No system protoc needed: the contracts are compiled by protox at build time.
COPY Cargo.toml Cargo.lock buf.yaml ./
COPY proto proto
COPY crates crates
# A workspace member, so its manifest must be there; only campus is built.
COPY fuzz fuzz
RUN cargo build --release --locked -p campus \
 && strip target/release/campus

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/campus /usr/local/bin/campus
COPY --from=web /src/web/dist /usr/share/campus/web
USER 65532:65532
# gRPC, grpc-web and the dashboard at /; admin (/metrics).
EXPOSE 50051 9464
# Blocks of 1 MiB and more are mapped and unmapped: each password hash allocates 19 MiB, and
# glibc would otherwise keep those in its arenas (≈ 170 MiB resident after a burst of logins).
ENV CAMPUS_LISTEN=0.0.0.0:50051 \
    CAMPUS_WEB_DIR=/usr/share/campus/web \
    CAMPUS_ADMIN_LISTEN=0.0.0.0:9464 \
    MALLOC_MMAP_THRESHOLD_=1048576
ENTRYPOINT ["/usr/local/bin/campus"]
CMD ["serve"]
