// The C functions of include/hindsight.h. All pointer handling of the C API is in this file:
// C strings in, malloc'd NUL-terminated texts out, the database handle as a retained object.

#if canImport(Glibc)
import Glibc
#endif
import Embedding
import Foundation
import MemoryAPI

/// `text` copied into a malloc'd, NUL-terminated buffer stored in `*out` (length in `*length`).
private func deliver(_ bytes: [UInt8], _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                     _ length: UnsafeMutablePointer<Int>?) {
    length?.pointee = bytes.count
    guard let out else { return }
    guard let buffer = malloc(bytes.count + 1) else {
        out.pointee = nil
        length?.pointee = 0
        return
    }
    bytes.withUnsafeBytes { source in
        if let base = source.baseAddress { buffer.copyMemory(from: base, byteCount: source.count) }
    }
    buffer.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
    out.pointee = buffer.assumingMemoryBound(to: CChar.self)
}

/// Delivers a response and returns its status.
private func answer(_ response: APIResponse, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                    _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    deliver(response.body, out, length)
    return Int32(response.status)
}

/// A C string's text, nil for NULL or text that is not UTF-8.
private func text(_ pointer: UnsafePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    return String(validatingCString: pointer)
}

private func database(_ handle: OpaquePointer?) -> NativeDatabase? {
    guard let handle else { return nil }
    return Unmanaged<NativeDatabase>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// One path segment, percent-encoded (every byte but unreserved characters).
private func segment(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
    allowed.insert(charactersIn: "-._~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
}

/// The request for a route, or the error of a NULL or non-UTF-8 argument.
private func call(_ handle: OpaquePointer?, _ method: String, _ path: [String?], body: UnsafePointer<CChar>?, bodyLength: Int? = nil,
                  _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let database = database(handle) else { return answer(APIError.badRequest("the database handle is NULL").response, out, length) }
    var target = ""
    for (index, part) in path.enumerated() {
        guard let part else { return answer(APIError.badRequest("argument \(index + 1) of the path is NULL or not UTF-8").response, out, length) }
        target += index == 0 ? part : "/" + segment(part)
    }
    var bytes: [UInt8] = []
    if let body {
        let count = bodyLength ?? strlen(body)
        bytes = body.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }
    guard let request = APIRequest(method: method, target: target, body: bytes) else {
        return answer(APIError.badRequest("the target is not a path ('/v1/…') with valid escapes").response, out, length)
    }
    return answer(database.respond(to: request), out, length)
}

@_cdecl("hindsight_version")
public func hindsight_version() -> UnsafePointer<CChar> {
    // A static string's bytes live as long as the library and end with a NUL.
    UnsafeRawPointer(libraryVersion.utf8Start).assumingMemoryBound(to: CChar.self)
}

private let libraryVersion: StaticString = "0.1.0"

@_cdecl("hindsight_open")
public func hindsight_open(_ path: UnsafePointer<CChar>?, _ options: UnsafePointer<CChar>?,
                           _ handle: UnsafeMutablePointer<OpaquePointer?>?, _ errorText: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    handle?.pointee = nil
    errorText?.pointee = nil
    do {
        guard let handle else { throw APIError.badRequest("the database out-pointer is NULL") }
        guard let path = text(path) else { throw APIError.badRequest("the path is NULL or not UTF-8") }
        let optionBytes = options.map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
        let opened = try NativeDatabase.open(path: path, options: try OpenOptions.parse(optionBytes))
        handle.pointee = OpaquePointer(Unmanaged.passRetained(opened).toOpaque())
        return 0
    } catch {
        let failure = openError(error)
        deliver(failure.body, errorText, nil)
        return Int32(failure.status)
    }
}

@_cdecl("hindsight_close")
public func hindsight_close(_ handle: OpaquePointer?) {
    guard let handle else { return }
    let unmanaged = Unmanaged<NativeDatabase>.fromOpaque(UnsafeRawPointer(handle))
    unmanaged.takeUnretainedValue().close()
    unmanaged.release()
}

@_cdecl("hindsight_free")
public func hindsight_free(_ text: UnsafeMutablePointer<CChar>?) {
    free(text)
}

@_cdecl("hindsight_request")
public func hindsight_request(_ handle: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ target: UnsafePointer<CChar>?,
                              _ body: UnsafePointer<CChar>?, _ bodyLength: Int,
                              _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let method = text(method) else { return answer(APIError.badRequest("the method is NULL or not UTF-8").response, out, length) }
    return call(handle, method, [text(target)], body: body, bodyLength: body == nil ? 0 : bodyLength, out, length)
}

@_cdecl("hindsight_collection_create")
public func hindsight_collection_create(_ handle: OpaquePointer?, _ settings: UnsafePointer<CChar>?,
                                        _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "POST", ["/v1/collections"], body: settings, out, length)
}

@_cdecl("hindsight_collection_get")
public func hindsight_collection_get(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                     _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "GET", ["/v1/collections", text(name)], body: nil, out, length)
}

@_cdecl("hindsight_collections")
public func hindsight_collections(_ handle: OpaquePointer?,
                                  _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "GET", ["/v1/collections"], body: nil, out, length)
}

@_cdecl("hindsight_collection_drop")
public func hindsight_collection_drop(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                      _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "DELETE", ["/v1/collections", text(name)], body: nil, out, length)
}

@_cdecl("hindsight_add")
public func hindsight_add(_ handle: OpaquePointer?, _ collection: UnsafePointer<CChar>?, _ request: UnsafePointer<CChar>?,
                          _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "POST", ["/v1/collections", text(collection), "memories"], body: request, out, length)
}

@_cdecl("hindsight_recall")
public func hindsight_recall(_ handle: OpaquePointer?, _ collection: UnsafePointer<CChar>?, _ request: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "POST", ["/v1/collections", text(collection), "query"], body: request, out, length)
}

@_cdecl("hindsight_record_decision")
public func hindsight_record_decision(_ handle: OpaquePointer?, _ collection: UnsafePointer<CChar>?, _ decision: UnsafePointer<CChar>?,
                                      _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "POST", ["/v1/collections", text(collection), "decisions"], body: decision, out, length)
}

@_cdecl("hindsight_pending")
public func hindsight_pending(_ handle: OpaquePointer?, _ collection: UnsafePointer<CChar>?,
                              _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "GET", ["/v1/collections", text(collection), "decisions"], body: nil, out, length)
}

@_cdecl("hindsight_resolve")
public func hindsight_resolve(_ handle: OpaquePointer?, _ collection: UnsafePointer<CChar>?, _ callerID: UnsafePointer<CChar>?,
                              _ request: UnsafePointer<CChar>?,
                              _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "POST", ["/v1/collections", text(collection), "decisions", text(callerID), "resolve"], body: request, out, length)
}

@_cdecl("hindsight_delete")
public func hindsight_delete(_ handle: OpaquePointer?, _ collection: UnsafePointer<CChar>?, _ request: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "POST", ["/v1/collections", text(collection), "memories", "delete"], body: request, out, length)
}

@_cdecl("hindsight_embed")
public func hindsight_embed(_ handle: OpaquePointer?, _ request: UnsafePointer<CChar>?,
                            _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    call(handle, "POST", ["/v1/embed"], body: request, out, length)
}

@_cdecl("hindsight_model_fetch")
public func hindsight_model_fetch(_ directory: UnsafePointer<CChar>?,
                                  _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    hindsight_model_fetch_named(nil, directory, out, length)
}

@_cdecl("hindsight_model_fetch_named")
public func hindsight_model_fetch_named(_ name: UnsafePointer<CChar>?, _ directory: UnsafePointer<CChar>?,
                                        _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    if name != nil && text(name) == nil {
        return answer(APIError.badRequest("model is not UTF-8").response, out, length)
    }
    let requested = text(name) ?? FetchableModel.miniLM.name
    guard let source = FetchableModel.named(requested) else {
        return answer(APIError(status: 400, code: "unknown_model", message: "model must be one of \(FetchableModel.names), not '\(requested)'")
            .response, out, length)
    }
    let destination = ModelFetch.directory(text(directory), for: source)
    do {
        let model: ModelDirectory
        if let existing = try? ModelDirectory(path: destination) { model = existing } else {
            model = try ModelFetch.fetch(source, into: destination) { _ in }
        }
        let fields: [String: Any] = ["path": model.path, "name": model.defaultName, "dimension": model.configuration.hiddenSize]
        deliver(Array(try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])), out, length)
        return 200
    } catch {
        return answer(APIError(status: 502, code: "model_fetch_failed", message: String(describing: error)).response, out, length)
    }
}
