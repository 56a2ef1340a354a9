"""An OTLP trace collector standing in for the one the ConfigMap names.

It accepts `TraceService/Export` over gRPC and keeps, per span, the service that sent it, its
trace id and its name: enough to see that every service exports and that one call's trace
crosses services. The spans are read straight off the protobuf wire format.
"""

import concurrent.futures
import threading

import grpc


def fields(data):
    """(field number, value) of one protobuf message; length-delimited values stay bytes."""
    position = 0

    def varint():
        nonlocal position
        result = shift = 0
        while True:
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result

    while position < len(data):
        key = varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            yield number, varint()
        elif wire_type == 1:
            position += 8
        elif wire_type == 2:
            length = varint()
            yield number, data[position:position + length]
            position += length
        elif wire_type == 5:
            position += 4
        else:
            raise ValueError(f"wire type {wire_type} in an OTLP request")


def spans(request):
    """(service.name, trace id hex, span name) for every span of an ExportTraceServiceRequest."""
    for number, resource_spans in fields(request):
        if number != 1:
            continue
        service, scope_spans = "", []
        for inner, value in fields(resource_spans):
            if inner == 1:
                for attribute_field, attribute in fields(value):
                    if attribute_field != 1:
                        continue
                    parts = dict(fields(attribute))
                    if parts.get(1) == b"service.name":
                        service = dict(fields(parts.get(2, b""))).get(1, b"").decode()
            elif inner == 2:
                scope_spans.append(value)
        for scope in scope_spans:
            for scope_field, span in fields(scope):
                if scope_field == 2:
                    parts = dict(fields(span))
                    yield service, parts.get(1, b"").hex(), parts.get(5, b"").decode()


class Collector:
    """The gRPC OTLP endpoint; `spans` is everything received so far."""

    def __init__(self, address):
        self.spans, self.lock = [], threading.Lock()
        self.server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService",
            {"Export": grpc.unary_unary_rpc_method_handler(self.export)},
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.server.add_insecure_port(address)
        self.server.start()

    def export(self, request, _context):
        received = list(spans(request))
        with self.lock:
            self.spans.extend(received)
        return b""

    def stop(self):
        self.server.stop(grace=1)
