# Portico: build the release binary, then run it on a slim Debian as a non-root user.
# Templates and migrations are compiled into the binary; static/ is served from ./static.

# ---- builder ----
FROM rust:1.95-bookworm AS builder
WORKDIR /build

# Dependency layer: build every dependency against a dummy crate, so that a change to
# the project's own code does not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# The real sources. touch: COPY keeps the files' old mtimes, which could be older than
# the dummy build, and cargo would then keep the dummy crate.
COPY src ./src
COPY .sqlx ./.sqlx
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
# SQLX_OFFLINE: the queries are checked against .sqlx/, the schema's description made by
# .ci/sqlx-prepare, so the image builds without a database.
RUN touch src/main.rs src/lib.rs \
 && SQLX_OFFLINE=true cargo build --release --locked \
 && cp target/release/portico /usr/local/bin/portico

# ---- runtime ----
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin portico \
 && mkdir -p /app/data \
 && chown portico:portico /app/data

COPY --from=builder /usr/local/bin/portico /usr/local/bin/portico
COPY --from=builder /build/static /app/static

WORKDIR /app
USER portico
ENV BIND=0.0.0.0:3000
EXPOSE 3000

# No curl in the image: bash's /dev/tcp asks GET /healthz on the port taken from BIND.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${BIND##*:} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]

# The server shuts down cleanly on Ctrl-C (SIGINT); as PID 1 it has no default SIGTERM action.
STOPSIGNAL SIGINT
CMD ["portico", "serve"]
