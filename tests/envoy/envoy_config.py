"""Renders the Envoy configuration the end-to-end tests and the benchmark run: a listener on
127.0.0.1, the Mnemosyne filter (unless `filter_config` is None) in front of the router, the
upstream LLM cluster and the analyzer cluster. Mirrors envoy-filter/deploy/envoy.yaml."""

import json


def render(listen_port, admin_port, upstream_port, analyzer_port, wasm_path, filter_config):
    hold = "true" if (filter_config or {}).get("hold_headers", True) else "false"
    wasm_filter = ""
    if filter_config is not None:
        config = json.dumps(json.dumps(filter_config))  # a JSON string inside YAML
        wasm_filter = f"""
          - name: mnemosyne
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: mnemosyne
                root_id: mnemosyne
                fail_open: false
                allow_on_headers_stop_iteration: {hold}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: {config}
                vm_config:
                  vm_id: mnemosyne
                  runtime: envoy.wasm.runtime.v8
                  code:
                    local:
                      filename: {wasm_path}"""
    return f"""
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: {admin_port} }}
static_resources:
  listeners:
  - name: llm
    address:
      socket_address: {{ address: 127.0.0.1, port_value: {listen_port} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: llm
          # HTTP/1 requests may end with trailers, as HTTP/2 ones always may (the filter must
          # decide those bodies at the trailers).
          http_protocol_options: {{ enable_trailers: true }}
          route_config:
            virtual_hosts:
            - name: llm
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: upstream_llm, timeout: 60s }}
          http_filters:{wasm_filter}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: upstream_llm
    type: STATIC
    connect_timeout: 2s
    load_assignment:
      cluster_name: upstream_llm
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {upstream_port} }} }} }}
  - name: mnemosyne_analyzer
    type: STATIC
    connect_timeout: 1s
    # As deploy/envoy.yaml: idle connections dropped before the analyzer's client timeout.
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        common_http_protocol_options: {{ idle_timeout: 20s }}
        explicit_http_config: {{ http_protocol_options: {{}} }}
    load_assignment:
      cluster_name: mnemosyne_analyzer
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {analyzer_port} }} }} }}
"""
