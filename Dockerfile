# syntax=docker/dockerfile:1
#
# Switchboard in a small image: the release binary on a distroless base (glibc, CA
# certificates, no shell), running as a non-root user, serving the built-in demo API on port
# 8080 until it is given a configuration file.
#
#   docker build -t switchboard --build-arg GIT_REVISION="$(git rev-parse --short HEAD)" .
#   docker run --rm -p 8080:8080 switchboard          # then: wscat -c ws://127.0.0.1:8080/dev
#
# With your own file (its [server] listen must be 0.0.0.0:PORT to be reachable from outside):
#
#   docker run --rm -p 8080:8080 -v "$PWD/switchboard.toml:/etc/switchboard/switchboard.toml:ro" \
#     switchboard serve --config /etc/switchboard/switchboard.toml
#
# The management API (@connections, /health, /ready, /metrics) listens on 127.0.0.1:8081 inside
# the container, unreachable from outside; docs/operations.md ("Docker") shows how to expose it.
# Podman builds it the same way (`podman build -t switchboard .`).

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
# The build context has no .git (.dockerignore), so the revision comes in as an argument.
ARG GIT_REVISION=unknown
ENV SWITCHBOARD_GIT_REVISION=${GIT_REVISION}
# Cache mounts keep downloaded crates and compiled dependencies between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p switchboard \
    && install -m 0755 target/release/switchboard /usr/local/bin/switchboard \
    && /usr/local/bin/switchboard --version

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/switchboard /usr/local/bin/switchboard
# A switchboard.toml mounted here is served by a plain `serve` (it is the working directory).
WORKDIR /etc/switchboard
# distroless's "nonroot": uid and gid 65532, no login shell.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
