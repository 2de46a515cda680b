# simrq in a container: the binary and the shipped scenarios on a slim Debian, for sweeps run
# as Kubernetes Indexed Jobs (docs/sweeps.md) or anywhere without a Rust toolchain.
#
#   podman build -t simrq .            (or docker build)
#   podman run --rm simrq run scenarios/retry-simple.toml --out /tmp/out
#
# Build stage: the release build (fat LTO), from the locked dependencies.
FROM docker.io/library/rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin simrq

# Run stage: the binary, the scenarios, and the font the PNG charts are drawn with.
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/simrq /usr/local/bin/simrq
COPY scenarios /opt/simrq/scenarios
WORKDIR /opt/simrq
ENTRYPOINT ["simrq"]
CMD ["--help"]
