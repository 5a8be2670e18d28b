// SimBind reference bridge host for iOS.
//
// NOT COMPILED IN THIS REPOSITORY. No Xcode or iOS SDK is reachable on the machines that build
// SimBind, so nothing here builds, lints or runs this file. It is a reference to adapt (module,
// pins, UI), written against the real iOS APIs. Its test is the bridge conformance kit
// (`@simbind/client/conformance`, the page at `/kit/`) run inside your own WKWebView, on a real
// iPhone (App Attest does not run in the Simulator): see wasm-client/hosts/README.md.
//
// Build: iOS 15+, Swift 5.9. Capabilities: App Attest (entitlement
// `com.apple.developer.devicecheck.appattest-environment`, `development` or `production` as the
// deployment's APPLE_ENVIRONMENT says); the deployment's APPLE_APP_IDS must list your
// TEAMID.bundle-id. Frameworks: WebKit, DeviceCheck, CryptoKit, MessageUI, Network, Security.

import CryptoKit
import DeviceCheck
import Foundation
import MessageUI
import Network
import Security
import UIKit
import WebKit

/// The SimBind native bridge for one `WKWebView`: the chip is an App Attest key in the Secure
/// Enclave (`apple-appattest`), and the page reaches it as `Bridge.fromIos("simbind")`, which
/// calls `webkit.messageHandlers.simbind.postMessage({method, args})` and awaits the reply.
///
/// ```swift
/// let configuration = WKWebViewConfiguration()
/// let bridge = SimBindBridge(pins: .init(scheme: "https", host: "app.example",
///                                        inboundNumber: "+447700900999", appName: "Example Bank",
///                                        audience: "simbind"),
///                            presenter: viewController)
/// bridge.install(in: configuration.userContentController)
/// let webView = WKWebView(frame: .zero, configuration: configuration)
/// ```
///
/// **Origin pinning** (docs/SECURITY.md, "The bridge is trusted"; kit: `host.subframe`). The
/// handler is a `WKScriptMessageHandlerWithReply` in the page's content world. WebKit offers a
/// message handler to every frame of the page, so every message is checked natively: it must
/// come from the main frame (`frameInfo.isMainFrame`) of the pinned scheme, host and port
/// (`frameInfo.securityOrigin`), else it is refused. A document-start user script, run in every
/// frame, hides the handler's name from sub-frames, so a sub-frame does not even see it (the
/// kit's probe looks); that is cosmetic, the native check is the guard.
///
/// Replies are the same strings as on Android (JSON text for `chipInfo`/`chipAttest`/`simInfo`,
/// base64url for the assertion); a refusal is a rejected promise (`replyHandler(nil, reason)`),
/// which the client reports as `bridge_failed` (kit: `errors.mapped`). There is no `nextCounter`:
/// App Attest keeps its counter inside each assertion, the transcript carries 0, and the
/// deployment compares the assertion's counter with the last it stored.
@MainActor
public final class SimBindBridge: NSObject, WKScriptMessageHandlerWithReply {
    /// What the app pins at build time, one set per build configuration (dev, staging, production).
    public struct Pins {
        /// The app's own web origin: scheme, host and port (nil: the scheme's default).
        public var scheme: String
        public var host: String
        public var port: Int?
        /// The deployment's inbound number (`SMS_INBOUND_NUMBER`), E.164: the only number `sendNumberProof` texts.
        public var inboundNumber: String
        /// The app's name in the device-SMS text (the deployment's `SERVICE_NAME`).
        public var appName: String
        /// The deployment's `AUDIENCE`: when set, `chipSign` refuses transcripts for any other deployment.
        public var audience: String?
        /// Hosts the first URL of `openOverCellular` may name (the operator's authorization endpoint); empty: any.
        public var operatorHosts: Set<String>
        /// The handler's name: `Bridge.fromIos("simbind")`.
        public var handlerName: String

        public init(scheme: String, host: String, port: Int? = nil, inboundNumber: String, appName: String,
                    audience: String? = nil, operatorHosts: Set<String> = [], handlerName: String = "simbind") {
            self.scheme = scheme.lowercased()
            self.host = host.lowercased()
            self.port = port
            self.inboundNumber = inboundNumber
            self.appName = appName
            self.audience = audience
            self.operatorHosts = operatorHosts
            self.handlerName = handlerName
        }
    }

    private let pins: Pins
    private weak var presenter: UIViewController?
    private let appAttest = DCAppAttestService.shared
    /// The last chip operation: chip calls run one after another, never interleaved.
    private var chipQueue: Task<Void, Never>?
    private var composeDelegate: ComposeDelegate?

    /// `presenter` shows the Messages sheet for `sendNumberProof`.
    public init(pins: Pins, presenter: UIViewController) {
        self.pins = pins
        self.presenter = presenter
    }

    /// Registers the handler (`contentWorld: .page`) and the script that hides it from
    /// sub-frames. Call once, before the web view loads. The controller retains the handler:
    /// call `uninstall(from:)` when the web view goes away.
    /// Kit: `host.present`, `host.subframe`.
    public func install(in controller: WKUserContentController) {
        controller.addUserScript(WKUserScript(source: Self.hideFromSubframes(pins.handlerName),
                                              injectionTime: .atDocumentStart, forMainFrameOnly: false, in: .page))
        controller.addScriptMessageHandler(self, contentWorld: .page, name: pins.handlerName)
    }

    public func uninstall(from controller: WKUserContentController) {
        controller.removeScriptMessageHandler(forName: pins.handlerName, contentWorld: .page)
    }

    /// Forgets the chip key (App Attest keys cannot be deleted, only abandoned): the next
    /// `chipInfo` makes a new key and the next bind attests it. Native only, never reachable
    /// from the page. Call it when a bind is answered `attestation_required` (the key was attested
    /// for a bind that did not complete), or after an unbind when the phone will bind again.
    public func resetChip() {
        Keychain.delete(Self.keyIdAccount)
        Keychain.delete(Self.attestedAccount)
    }

    /// One call from the page: `{method, args}`, `args` strings (base64url for bytes).
    public func userContentController(_ userContentController: WKUserContentController,
                                      didReceive message: WKScriptMessage,
                                      replyHandler: @escaping (Any?, String?) -> Void) {
        guard message.frameInfo.isMainFrame, isPinned(message.frameInfo.securityOrigin) else {
            replyHandler(nil, "refused: the SimBind bridge answers the main frame of the app's own origin only")
            return
        }
        guard let body = message.body as? [String: Any], let method = body["method"] as? String,
              let args = (body["args"] ?? [String]()) as? [String] else {
            replyHandler(nil, "refused: a call is {method, args} with string arguments")
            return
        }
        Task { @MainActor in
            do {
                let value = try await self.dispatch(method, args)
                replyHandler(value, nil)
            } catch {
                replyHandler(nil, (error as? BridgeError)?.reason ?? error.localizedDescription)
            }
        }
    }

    // MARK: The bridge contract (wasm-client/README.md, "The bridge contract")

    /// `chipInfo()` → `{"format":"apple-appattest","keyId":…}`, `keyId` the key id App Attest
    /// gave (standard base64 of SHA-256 of the key's point) re-encoded as base64url. The first
    /// call makes the key (`generateKey`) and keeps its id in the Keychain (this device only);
    /// App Attest attests an existing key later, so the reply is complete before any bind.
    /// Kit: `chipInfo.reply`.
    private func chipInfo() async throws -> String {
        let keyId = try await currentOrNewKey()
        return try Self.json(["format": Self.format, "keyId": Self.keyIdBase64url(keyId)])
    }

    /// `chipAttest(challenge)` at bind, `challenge` the 32 bytes the client derives from the
    /// server's bind challenge (PROTOCOL.md §2). The first time (key not attested yet):
    /// `attestKey(keyId, clientDataHash: challenge)`, returning `{format, keyId, attestation}`,
    /// the attestation object base64url. Later calls return `{format, keyId}` only: a key is
    /// attested once, and a bound key re-proves the number without attestation.
    /// Kit: `bind.ceremony` (the attestation honours the challenge; the deployment checks it).
    private func chipAttest(_ challenge: Data) async throws -> String {
        guard challenge.count == 32 else { throw BridgeError("an attestation challenge is 32 bytes") }
        var keyId = try await currentOrNewKey()
        if Keychain.read(Self.attestedAccount) == keyId {
            return try Self.json(["format": Self.format, "keyId": Self.keyIdBase64url(keyId)])
        }
        let attestation: Data
        do {
            attestation = try await appAttest.attestKey(keyId, clientDataHash: challenge)
        } catch let error as DCError where error.code == .invalidKey {
            // Attested before, or lost with a reinstall: App Attest will never attest it now.
            resetChip()
            keyId = try await currentOrNewKey()
            attestation = try await appAttest.attestKey(keyId, clientDataHash: challenge)
        }
        try Keychain.write(Self.attestedAccount, keyId)
        return try Self.json(["format": Self.format, "keyId": Self.keyIdBase64url(keyId),
                              "attestation": Self.base64url(attestation)])
    }

    /// `simInfo()` → `{}`: since iOS 16 an app reads no carrier information at all (the
    /// CoreTelephony carrier properties answer placeholders), so this host reports none, and
    /// the deployment's `apple-appattest=none` SIM level asks for none. Kit: `simInfo.reply`.
    private func simInfo() -> String { "{}" }

    /// `chipSign(transcript)` → the App Attest assertion,
    /// `generateAssertion(keyId, clientDataHash: SHA256(transcript))`, base64url. Before
    /// asserting, parses the transcript (PROTOCOL.md §3: u32-length-prefixed fields, the
    /// version, the SIM block of eleven fields, the 8-byte big-endian counter last, nothing
    /// after) and refuses unless it names this key id, carries no chip or SIM key, an all-empty
    /// SIM block (what `simInfo` reports), counter 0 (the assertion carries the real one) and,
    /// when pinned, this deployment's audience. Kit: `bind.ceremony`, `verify.ceremony`,
    /// `unbind.ceremony`, `chipSign.refuses-garbage`, `errors.mapped`
    /// (`chipSign.refuses-stale-counter` is skipped for App Attest).
    private func chipSign(_ transcript: Data) async throws -> String {
        let parsed = try Transcript(parsing: transcript)
        guard let keyId = Keychain.read(Self.keyIdAccount), Keychain.read(Self.attestedAccount) == keyId else {
            throw BridgeError("no attested chip key yet: bind first")
        }
        let ownKeyId = try Self.keyIdBase64url(keyId)
        guard parsed.chipSerial == ownKeyId else { throw BridgeError("the transcript names another chip") }
        guard parsed.chipKey.isEmpty else { throw BridgeError("an apple-appattest transcript carries no chip key") }
        guard parsed.simKey.isEmpty else { throw BridgeError("this phone's SIM has no key of its own") }
        guard parsed.simBlock == Self.emptySimBlock else { throw BridgeError("the transcript's SIM is not what this phone reports (nothing)") }
        guard parsed.counter == 0 else { throw BridgeError("an App Attest transcript's counter is 0: the assertion carries the counter") }
        if let audience = pins.audience, parsed.audience != audience {
            throw BridgeError("the transcript is for another deployment")
        }
        do {
            let assertion = try await appAttest.generateAssertion(keyId, clientDataHash: Data(SHA256.hash(data: transcript)))
            return Self.base64url(assertion)
        } catch let error as DCError where error.code == .invalidKey {
            resetChip()
            throw BridgeError("the chip key is no longer valid (the app was reinstalled or restored): bind again")
        }
    }

    /// `sendNumberProof(token)` (`device_sms`): opens the Messages sheet prefilled with the
    /// pinned inbound number and the text built here, `"{token} links this number to your phone
    /// in {appName}."`; the user sends it (iOS lets no app send a text itself, nor choose the
    /// line on a dual-SIM iPhone: the user picks the line that carries the number). Resolves
    /// when Messages reports it sent; refuses anything that is not exactly `SB-` and 10 of
    /// `0-9A-HJKMNP-TV-Z` before anything is shown. Kit: `sendNumberProof.token-only`;
    /// `bind.ceremony` when the kit binds by `device_sms`.
    private func sendNumberProof(_ token: String) async throws -> String {
        guard Self.isToken(token) else { throw BridgeError("not a SimBind token") }
        guard MFMessageComposeViewController.canSendText() else { throw BridgeError("this device cannot send texts") }
        guard let presenter, composeDelegate == nil else { throw BridgeError("no screen to show the message on, or one is already open") }
        let compose = MFMessageComposeViewController()
        compose.recipients = [pins.inboundNumber]
        compose.body = "\(token) links this number to your phone in \(pins.appName)."
        if MFMessageComposeViewController.canSendAttachments() { compose.disableUserAttachments() }
        let result: MessageComposeResult = await withCheckedContinuation { continuation in
            let delegate = ComposeDelegate { continuation.resume(returning: $0) }
            composeDelegate = delegate
            compose.messageComposeDelegate = delegate
            presenter.present(compose, animated: true)
        }
        composeDelegate = nil
        switch result {
        case .sent: return "sent"
        case .cancelled: throw BridgeError("the text was not sent (cancelled)")
        case .failed: throw BridgeError("the text could not be sent")
        @unknown default: throw BridgeError("the text was not sent")
        }
    }

    /// `firebasePnvToken(nonce)`: Firebase Phone Number Verification is Android-only, so this
    /// throws; the app starts an `otp` or `device_sms` registration instead. No kit check.
    private func firebasePnvToken(_ nonce: String) throws -> String {
        throw BridgeError("unsupported on iOS: Firebase Phone Number Verification is Android-only")
    }

    /// `openOverCellular(url)` (`camara_nv`): opens the operator's authorization URL over the
    /// cellular interface only (Network.framework, `NWParameters.requiredInterfaceType =
    /// .cellular`; URLSession cannot require an interface), one plain HTTP/1.1 GET per hop, and
    /// follows each redirect itself on cellular to the worker's callback, resolving with the last
    /// answer as `{"status":…,"body":…}`. Never Wi-Fi (no mobile data: it throws), no cookies, no
    /// cache, no UI; refuses a redirect from https to http. The first URL must be https (http
    /// only in a build pinned to an http origin, i.e. dev) and on `operatorHosts` when set.
    /// No kit check: the kit proves the number by `device_sms` or `otp`.
    private func openOverCellular(_ text: String) async throws -> String {
        guard var url = URL(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "https" || (scheme == "http" && pins.scheme == "http") else {
            throw BridgeError("the operator's URL must be https")
        }
        if !pins.operatorHosts.isEmpty, !pins.operatorHosts.contains(url.host?.lowercased() ?? "") {
            throw BridgeError("not an operator this app talks to")
        }
        for _ in 0..<Self.maxHops {
            let answer = try await Self.getOverCellular(url)
            if Self.redirects.contains(answer.status), let location = answer.headers["location"] {
                guard let next = URL(string: location, relativeTo: url)?.absoluteURL,
                      let nextScheme = next.scheme?.lowercased(), nextScheme == "https" || nextScheme == "http" else {
                    throw BridgeError("refused a redirect to another scheme")
                }
                if url.scheme?.lowercased() == "https" && nextScheme != "https" {
                    throw BridgeError("refused a redirect from https to http")
                }
                url = next
                continue
            }
            return try Self.json(["status": answer.status, "body": String(decoding: answer.body, as: UTF8.self)])
        }
        throw BridgeError("too many redirects")
    }

    // MARK: Plumbing

    private func dispatch(_ method: String, _ args: [String]) async throws -> Any {
        func one() throws -> String {
            guard args.count == 1 else { throw BridgeError("\(method) takes one argument") }
            return args[0]
        }
        switch method {
        case "chipInfo": return try await serialized { try await self.chipInfo() }
        case "chipAttest":
            let challenge = try Self.unbase64url(one())
            return try await serialized { try await self.chipAttest(challenge) }
        case "simInfo": return simInfo()
        case "chipSign":
            let transcript = try Self.unbase64url(one())
            return try await serialized { try await self.chipSign(transcript) }
        case "sendNumberProof": return try await sendNumberProof(one())
        case "firebasePnvToken": return try firebasePnvToken(one())
        case "openOverCellular": return try await openOverCellular(one())
        case "nextCounter": throw BridgeError("no nextCounter on iOS: App Attest counts in its assertions")
        default: throw BridgeError("no bridge method \(method)")
        }
    }

    /// Runs chip operations one at a time, in the order the page asked for them.
    private func serialized<T>(_ work: @escaping @MainActor () async throws -> T) async throws -> T {
        let previous = chipQueue
        let task = Task { @MainActor () async throws -> T in
            _ = await previous?.value
            return try await work()
        }
        chipQueue = Task { _ = try? await task.value }
        return try await task.value
    }

    private func isPinned(_ origin: WKSecurityOrigin) -> Bool {
        func port(_ value: Int, _ scheme: String) -> Int { value != 0 ? value : (scheme == "https" ? 443 : 80) }
        let scheme = origin.protocol.lowercased()
        return scheme == pins.scheme && origin.host.lowercased() == pins.host
            && port(origin.port, scheme) == port(pins.port ?? 0, pins.scheme)
    }

    private func currentOrNewKey() async throws -> String {
        if let keyId = Keychain.read(Self.keyIdAccount) { return keyId }
        guard appAttest.isSupported else { throw BridgeError("App Attest is not available here (the Simulator, or an older device)") }
        let keyId = try await appAttest.generateKey()
        try Keychain.write(Self.keyIdAccount, keyId)
        Keychain.delete(Self.attestedAccount)
        return keyId
    }

    /// Sub-frames see no `webkit.messageHandlers.<name>` (the native check refuses them anyway).
    private static func hideFromSubframes(_ name: String) -> String {
        let quoted = String(decoding: (try? JSONSerialization.data(withJSONObject: [name])) ?? Data("[\"\"]".utf8), as: UTF8.self)
        return """
        (() => {
          if (window.top === window) return;
          const [name] = \(quoted);
          try {
            const real = window.webkit && window.webkit.messageHandlers;
            if (!real) return;
            const shown = new Proxy(real, { get: (target, key) => (key === name ? undefined : target[key]) });
            Object.defineProperty(window.webkit, "messageHandlers", { value: shown, configurable: false });
          } catch (e) {
            try { Object.defineProperty(window, "webkit", { value: undefined, configurable: false }); } catch (e2) {}
          }
        })();
        """
    }

    private static let format = "apple-appattest"
    private static let keyIdAccount = "appAttestKeyId"
    private static let attestedAccount = "appAttestAttestedKeyId"
    private static let maxHops = 10
    private static let redirects: Set<Int> = [301, 302, 303, 307, 308]
    /// Eleven empty fields: the SIM block of a phone that reports nothing (PROTOCOL.md §3).
    private static let emptySimBlock = Data(count: 11 * 4)
    private static let tokenAlphabet = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// Exactly `SB-` and 10 of `0-9A-HJKMNP-TV-Z`, nothing before or after.
    static func isToken(_ text: String) -> Bool {
        guard text.hasPrefix("SB-") else { return false }
        let rest = text.dropFirst(3)
        return rest.count == 10 && rest.allSatisfy { tokenAlphabet.contains($0) }
    }

    private static func keyIdBase64url(_ keyId: String) throws -> String {
        guard let raw = Data(base64Encoded: keyId), raw.count == 32 else { throw BridgeError("App Attest gave an unexpected key id") }
        return base64url(raw)
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Strict base64url: URL-safe alphabet, no padding, canonical trailing bits.
    static func unbase64url(_ text: String) throws -> Data {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        guard text.allSatisfy({ allowed.contains($0) }), text.count % 4 != 1 else { throw BridgeError("not base64url") }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        guard let data = Data(base64Encoded: standard), base64url(data) == text else { throw BridgeError("not canonical base64url") }
        return data
    }

    private static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    // MARK: One GET over cellular (Network.framework)

    private struct HTTPAnswer {
        let status: Int
        let headers: [String: String]
        let body: Data

        init(_ raw: Data) throws {
            guard let split = raw.range(of: Data("\r\n\r\n".utf8)) else { throw BridgeError("the operator's answer is not HTTP") }
            var lines = String(decoding: raw[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]),
                  (100..<600).contains(status) else { throw BridgeError("the operator's answer is not HTTP") }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var body = Data(raw[split.upperBound...])
            if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                body = try Self.dechunk(body)
            } else if let length = headers["content-length"].flatMap({ Int($0) }), length <= body.count {
                body = body.prefix(length)
            }
            self.status = status
            self.headers = headers
            self.body = body
        }

        static func dechunk(_ data: Data) throws -> Data {
            var out = Data()
            var rest = data
            while true {
                guard let end = rest.range(of: Data("\r\n".utf8)) else { throw BridgeError("a truncated chunked answer") }
                let sizeText = String(decoding: rest[..<end.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    throw BridgeError("a malformed chunked answer")
                }
                rest = rest[end.upperBound...]
                if size == 0 { return out }
                guard rest.count >= size + 2 else { throw BridgeError("a truncated chunked answer") }
                out.append(rest.prefix(size))
                rest = rest.dropFirst(size + 2)
            }
        }
    }

    private nonisolated static func getOverCellular(_ url: URL) async throws -> HTTPAnswer {
        guard let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              let port = NWEndpoint.Port(rawValue: UInt16(exactly: url.port ?? (scheme == "https" ? 443 : 80)) ?? 0),
              port.rawValue != 0 else { throw BridgeError("not an http(s) URL") }
        let parameters: NWParameters = scheme == "https" ? .tls : .tcp
        parameters.requiredInterfaceType = .cellular
        let connection = NWConnection(host: NWEndpoint.Host(host), port: port, using: parameters)
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        var target = components?.percentEncodedPath ?? ""
        if target.isEmpty { target = "/" }
        if let query = components?.percentEncodedQuery { target += "?" + query }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        let request = Data(("GET \(target) HTTP/1.1\r\nHost: \(authority)\r\nAccept: application/json\r\n"
            + "User-Agent: SimBind-iOS\r\nConnection: close\r\n\r\n").utf8)
        let raw = try await exchange(connection, request)
        return try HTTPAnswer(raw)
    }

    /// Sends `request`, reads until the server closes (at most 64 KiB, 20 s), on one queue.
    private nonisolated static func exchange(_ connection: NWConnection, _ request: Data) async throws -> Data {
        let queue = DispatchQueue(label: "simbind.cellular")
        let outcome = Outcome()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.continuation = continuation
            var received = Data()
            func receive() {
                connection.receive(minimumIncompleteLength: 1, maximumLength: 65_536) { data, _, isComplete, error in
                    if let data { received.append(data) }
                    if received.count > 64 * 1024 {
                        outcome.finish(.failure(BridgeError("the operator's answer is too large")))
                        connection.cancel()
                    } else if let error {
                        outcome.finish(.failure(error))
                        connection.cancel()
                    } else if isComplete {
                        outcome.finish(.success(received))
                        connection.cancel()
                    } else {
                        receive()
                    }
                }
            }
            connection.stateUpdateHandler = { state in
                switch state {
                case .ready:
                    connection.send(content: request, completion: .contentProcessed { error in
                        if let error {
                            outcome.finish(.failure(error))
                            connection.cancel()
                        } else {
                            receive()
                        }
                    })
                case .waiting(let error):
                    outcome.finish(.failure(BridgeError("no mobile data connection to the operator (\(error))")))
                    connection.cancel()
                case .failed(let error):
                    outcome.finish(.failure(error))
                case .cancelled:
                    outcome.finish(.failure(BridgeError("the connection closed before an answer")))
                default:
                    break
                }
            }
            connection.start(queue: queue)
            queue.asyncAfter(deadline: .now() + 20) {
                outcome.finish(.failure(BridgeError("the operator did not answer in time")))
                connection.cancel()
            }
        }
    }
}

/// A refusal: the page's promise rejects with `reason` and the client reports `bridge_failed`.
fileprivate struct BridgeError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Resumes a continuation once, whichever callback comes first.
private final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    var continuation: CheckedContinuation<Data, Error>?

    func finish(_ result: Result<Data, Error>) {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume(with: result)
    }
}

private final class ComposeDelegate: NSObject, MFMessageComposeViewControllerDelegate {
    private let done: (MessageComposeResult) -> Void
    init(_ done: @escaping (MessageComposeResult) -> Void) { self.done = done }

    func messageComposeViewController(_ controller: MFMessageComposeViewController, didFinishWith result: MessageComposeResult) {
        controller.dismiss(animated: true)
        done(result)
    }
}

/// The app's generic-password items, this device only (never in a backup restored elsewhere).
private enum Keychain {
    private static let service = "simbind.bridge"

    static func read(_ account: String) -> String? {
        let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service,
                                    kSecAttrAccount as String: account, kSecReturnData as String: true,
                                    kSecMatchLimit as String: kSecMatchLimitOne]
        var item: CFTypeRef?
        guard SecItemCopyMatching(query as CFDictionary, &item) == errSecSuccess, let data = item as? Data else { return nil }
        return String(data: data, encoding: .utf8)
    }

    static func write(_ account: String, _ value: String) throws {
        delete(account)
        let item: [String: Any] = [kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service,
                                   kSecAttrAccount as String: account, kSecValueData as String: Data(value.utf8),
                                   kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly]
        let status = SecItemAdd(item as CFDictionary, nil)
        guard status == errSecSuccess else { throw BridgeError("the Keychain did not keep the chip's key id (\(status))") }
    }

    static func delete(_ account: String) {
        let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service,
                                    kSecAttrAccount as String: account]
        SecItemDelete(query as CFDictionary)
    }
}

/// A transcript read back into the fields a host checks (PROTOCOL.md §3):
/// `field("SIMBIND-TRANSCRIPT") ‖ u16be(2) ‖ field(ceremony) ‖ field(challenge) ‖ field(audience)
/// ‖ field(subject) ‖ field(transaction) ‖ field(chip serial or key id) ‖ field(chip key)
/// ‖ field(SIM block) ‖ field(SIM key) ‖ u64be(counter)`, `field(b) = u32be(len(b)) ‖ b`.
/// Another domain or version, a length past the end, a SIM block of other than eleven fields
/// or trailing bytes are refused, as `core::transcript::decode` would.
fileprivate struct Transcript {
    let ceremony: String
    let audience: String
    let subject: String
    let chipSerial: String
    let chipKey: Data
    let simBlock: Data
    let simKey: Data
    let counter: UInt64

    init(parsing data: Data) throws {
        var reader = ByteReader(Array(data))
        guard try reader.field() == Array("SIMBIND-TRANSCRIPT".utf8) else { throw BridgeError("not a SimBind transcript") }
        guard try reader.u16() == 2 else { throw BridgeError("not a version-2 transcript") }
        ceremony = try reader.text()
        guard ["bind", "verify", "unbind"].contains(ceremony) else { throw BridgeError("not a SimBind ceremony") }
        _ = try reader.field() // the server's challenge: opaque to the host
        audience = try reader.text()
        subject = try reader.text()
        _ = try reader.field() // the relying party's transaction: opaque to the host
        chipSerial = try reader.text()
        chipKey = Data(try reader.field())
        simBlock = Data(try reader.field())
        simKey = Data(try reader.field())
        counter = try reader.u64()
        guard reader.atEnd else { throw BridgeError("bytes after the transcript's counter") }
        var sim = ByteReader(Array(simBlock))
        for _ in 0..<11 { _ = try sim.field() }
        guard sim.atEnd else { throw BridgeError("not a SIM block of eleven fields") }
    }
}

fileprivate struct ByteReader {
    private let bytes: [UInt8]
    private var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { at == bytes.count }

    mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= bytes.count - at else { throw BridgeError("not a SimBind transcript (truncated)") }
        defer { at += count }
        return Array(bytes[at..<at + count])
    }

    mutating func u16() throws -> Int { try take(2).reduce(0) { $0 << 8 | Int($1) } }
    mutating func u64() throws -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }
    mutating func field() throws -> [UInt8] {
        let length = try take(4).reduce(0) { $0 << 8 | Int($1) }
        return try take(length)
    }

    mutating func text() throws -> String {
        guard let text = String(bytes: try field(), encoding: .utf8) else { throw BridgeError("not UTF-8 text") }
        return text
    }
}
