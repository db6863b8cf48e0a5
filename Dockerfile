# Mnemosyne cloud analyzer: a static (musl) binary in an empty image, run as a non-root user.
#
# On a normal machine (pulls a Rust builder image):
#   podman build --format docker -t mnemosyne-analyzer .        # or: docker build -t mnemosyne-analyzer .
# Where no registry is reachable (this project's CI), build the binary on the host and copy it in:
#   cargo build --release --target x86_64-unknown-linux-musl -p cloud-analyzer
#   podman build --format docker --target prebuilt -t mnemosyne-analyzer .
# Base images are build arguments: --build-arg BUILDER_IMAGE=… --build-arg RUNTIME_IMAGE=…
#
# The container listens on 0.0.0.0:8080, so it refuses to start without client API keys and an
# analyze token (MNEMOSYNE_API_KEYS, MNEMOSYNE_ANALYZE_TOKEN); see the README.

ARG BUILDER_IMAGE=docker.io/library/rust:1-alpine
ARG RUNTIME_IMAGE=scratch

FROM ${BUILDER_IMAGE} AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p cloud-analyzer \
 && cp target/release/cloud-analyzer /cloud-analyzer

FROM ${RUNTIME_IMAGE} AS prebuilt
COPY target/x86_64-unknown-linux-musl/release/cloud-analyzer /cloud-analyzer
USER 65532:65532
ENV MNEMOSYNE_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --retries=3 CMD ["/cloud-analyzer", "healthcheck"]
ENTRYPOINT ["/cloud-analyzer"]
CMD ["serve"]

FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /cloud-analyzer /cloud-analyzer
USER 65532:65532
ENV MNEMOSYNE_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --retries=3 CMD ["/cloud-analyzer", "healthcheck"]
ENTRYPOINT ["/cloud-analyzer"]
CMD ["serve"]
