/*
 * SimBind reference bridge host for Android.
 *
 * NOT COMPILED IN THIS REPOSITORY. No Android SDK is reachable on the machines that build
 * SimBind, so nothing here builds, lints or runs this file. It is a reference to adapt
 * (package name, pins, permissions flow, UI), written against the real Android APIs. Its test
 * is the bridge conformance kit (`@simbind/client/conformance`, the page at `/kit/`) run inside
 * your own WebView, on your own phone: see wasm-client/hosts/README.md.
 *
 * Build: minSdk 29 (Android 10), compileSdk 35. Dependencies:
 *   androidx.webkit:webkit (1.8+: WebMessageListener and document-start scripts)
 *   androidx.activity:activity-ktx, androidx.lifecycle:lifecycle-runtime-ktx, androidx.core:core-ktx
 *   org.jetbrains.kotlinx:kotlinx-coroutines-android, kotlinx-coroutines-play-services
 *   androidx.credentials:credentials (+ credentials-play-services-auth), com.google.firebase:firebase-pnv
 *     (only for firebasePnvToken; drop both and that method if you do not offer `firebase_pnv`)
 * Manifest: INTERNET, ACCESS_NETWORK_STATE, CHANGE_NETWORK_STATE (requestNetwork), and the runtime
 * permissions READ_PHONE_STATE (simInfo), SEND_SMS (sendNumberProof), READ_PHONE_NUMBERS
 * (optional: msisdn). Google Play restricts SEND_SMS to apps with an approved declaration; without
 * one, leave sendNumberProof out (the client then proves the number by `otp` or a carrier proof).
 * Exclude the "simbind.bridge" preferences from backup (dataExtractionRules): a restored backup
 * would roll the counter back.
 */
package com.example.simbind

import android.Manifest
import android.annotation.SuppressLint
import android.app.Activity
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.content.SharedPreferences
import android.content.pm.PackageManager
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest
import android.net.Uri
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.telephony.SmsManager
import android.telephony.SubscriptionManager
import android.telephony.TelephonyManager
import android.telephony.euicc.EuiccManager
import android.webkit.WebView
import androidx.activity.ComponentActivity
import androidx.annotation.MainThread
import androidx.core.content.ContextCompat
import androidx.credentials.CredentialManager
import androidx.credentials.DigitalCredential
import androidx.credentials.ExperimentalDigitalCredentialApi
import androidx.credentials.GetCredentialRequest
import androidx.credentials.GetDigitalCredentialOption
import androidx.lifecycle.lifecycleScope
import androidx.webkit.JavaScriptReplyProxy
import androidx.webkit.WebMessageCompat
import androidx.webkit.WebViewCompat
import androidx.webkit.WebViewFeature
import com.google.firebase.pnv.FirebasePhoneNumberVerification
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.tasks.await
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.json.JSONArray
import org.json.JSONObject
import java.io.ByteArrayOutputStream
import java.io.InputStream
import java.math.BigInteger
import java.net.HttpURLConnection
import java.net.URL
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.MessageDigest
import java.security.PrivateKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import java.util.UUID
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * The SimBind native bridge for one WebView: the chip is an `android-key` P-256 key in
 * StrongBox (or the TEE), the SIM is what `SubscriptionManager` reports, and the page reaches
 * it as `Bridge.fromAndroid(window.SimBindNative)`.
 *
 * ```kotlin
 * // In the activity that shows the app's web UI, before the first loadUrl:
 * val bridge = SimBindBridge(this, SimBindBridge.Pins(
 *     origin = BuildConfig.SIMBIND_ORIGIN,               // "https://app.example"
 *     inboundNumber = BuildConfig.SIMBIND_INBOUND_NUMBER, // the deployment's SMS_INBOUND_NUMBER
 *     appName = getString(R.string.app_name),
 *     audience = BuildConfig.SIMBIND_AUDIENCE,            // the deployment's AUDIENCE
 * ))
 * bridge.install(webView)
 * webView.loadUrl("${BuildConfig.SIMBIND_ORIGIN}/")
 * ```
 *
 * **Origin pinning** (docs/SECURITY.md, "The bridge is trusted"; kit: `host.subframe`). The
 * bridge is an `androidx.webkit` WebMessageListener, injected only into frames whose origin is
 * [Pins.origin], and every message is checked again natively: it must come from the main frame
 * (`isMainFrame`) of the pinned origin (`sourceOrigin`), else it is refused. The listener's own
 * JavaScript object has an internal name ([PORT_NAME]), not `SimBindNative`: a same-origin
 * sub-frame gets that object too, and the kit's probe would find it there. A document-start
 * shim, injected for the same origin, builds `window.SimBindNative` in the main frame only:
 * the strings-only object the client expects (strings in; JSON text, decimal or base64url
 * out), whose methods return promises (the client awaits every method; a rejection is a
 * refusal, `bridge_failed`).
 *
 * Why not `WebView.addJavascriptInterface`: it injects the object into every frame of every
 * origin (a third-party iframe, an ad, a redirect to another site), and its methods run on a
 * binder thread without knowing which frame called. The most a host can do there is read
 * `webView.url` (on the UI thread) and refuse when the main frame's origin is not the pinned
 * one, which does not stop a sub-frame inside the app's own page. The kit's `host.subframe`
 * check fails for a plain `addJavascriptInterface`, and this host refuses to fall back to it.
 *
 * Every bridge method below runs under the page's call; a refusal is an exception, which the
 * shim turns into a rejected promise (kit: `errors.mapped`). Refusal texts name no secrets.
 */
class SimBindBridge(
    private val activity: ComponentActivity,
    private val pins: Pins,
) {
    /** What the app pins at build time, one set per build flavour (dev, staging, production). */
    data class Pins(
        /** The app's own web origin, `scheme://host[:port]`: the only origin whose main frame sees the bridge. */
        val origin: String,
        /** The deployment's inbound number (`SMS_INBOUND_NUMBER`), E.164: the only number `sendNumberProof` texts. */
        val inboundNumber: String,
        /** The app's name in the device-SMS text (the deployment's `SERVICE_NAME`). */
        val appName: String,
        /** The deployment's `AUDIENCE`: when set, `chipSign` refuses transcripts for any other deployment. */
        val audience: String? = null,
        /** Hosts the first URL of `openOverCellular` may name (the operator's authorization endpoint); empty: any. */
        val operatorHosts: Set<String> = emptySet(),
        /** Where the page finds the bridge: `Bridge.fromAndroid(window.SimBindNative)`. */
        val objectName: String = "SimBindNative",
    ) {
        init {
            val uri = Uri.parse(origin)
            require(uri.scheme in setOf("https", "http") && !uri.host.isNullOrEmpty() && uri.path.isNullOrEmpty()) {
                "origin is scheme://host[:port], nothing after"
            }
            require(E164.matches(inboundNumber)) { "inboundNumber is E.164" }
            require(appName.isNotBlank() && appName.length <= 64) { "appName is 1 to 64 characters" }
            require(Regex("[A-Za-z_$][A-Za-z0-9_$]*").matches(objectName)) { "objectName is a JavaScript identifier" }
        }
    }

    private val prefs: SharedPreferences =
        activity.applicationContext.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
    private val keyStore: KeyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
    private val pinnedOrigin: Uri = Uri.parse(pins.origin)

    /** Serializes everything that touches the key or the counter. */
    private val chip = Mutex()

    /** The counter [nextCounter] last handed out, until one [chipSign] call uses it up. */
    private var issuedCounter: Long? = null

    /**
     * Exposes the bridge to the main frame of [Pins.origin] in [webView]. Call once, on the UI
     * thread, before the first `loadUrl`. Throws when the installed WebView cannot pin the
     * bridge to an origin (update Android System WebView); there is no unpinned fallback.
     * Kit: `host.present`, `host.methods`, `host.subframe`.
     */
    @MainThread
    fun install(webView: WebView) {
        check(
            WebViewFeature.isFeatureSupported(WebViewFeature.WEB_MESSAGE_LISTENER) &&
                WebViewFeature.isFeatureSupported(WebViewFeature.DOCUMENT_START_SCRIPT),
        ) { "this WebView cannot pin the SimBind bridge to an origin: update Android System WebView" }
        val rules = setOf(pins.origin)
        WebViewCompat.addWebMessageListener(webView, PORT_NAME, rules) { _, message, sourceOrigin, isMainFrame, replyProxy ->
            onPostMessage(message, sourceOrigin, isMainFrame, replyProxy)
        }
        WebViewCompat.addDocumentStartJavaScript(webView, shim(), rules)
    }

    /**
     * Forgets the chip key: the next [chipInfo] makes a provisional key and the next bind a
     * new attested one. Native only, never reachable from the page. Call it when a bind is
     * answered `attestation_required` (the key was attested for a bind that did not complete,
     * and a key is attested only once), or after an unbind when the phone will bind again
     * (an unbound key cannot bind without attestation). The counter is never reset.
     */
    suspend fun resetChip() = chip.withLock {
        withContext(Dispatchers.IO) {
            if (keyStore.containsAlias(ALIAS)) keyStore.deleteEntry(ALIAS)
            commit { remove(KEY_ATTESTED) }
            issuedCounter = null
        }
    }

    /**
     * Chooses the subscription that carries the number (a dual-SIM phone: from the app's own
     * native picker). Unset, or no longer active: the default SMS subscription, or the only one.
     */
    fun selectSubscription(subscriptionId: Int) {
        commit { putInt(KEY_SUBSCRIPTION, subscriptionId) }
    }

    // ---- The bridge contract (wasm-client/README.md, "The bridge contract") ----

    /**
     * `chipInfo()` → `{"format":"android-key","keyId":…}`, `keyId` = base64url of SHA-256 of
     * the key's uncompressed point `0x04 ‖ X ‖ Y` (docs/PROTOCOL.md §1). Android attests a key
     * only when it is made, and the bind's attestation challenge is not known yet, so before
     * the first bind this makes a provisional, unattested key (in the TEE) for the reply to be
     * complete; [chipAttest] replaces it with the key made for the bind's challenge.
     * Kit: `chipInfo.reply`, `host.methods`.
     */
    internal suspend fun chipInfo(): String = chip.withLock {
        withContext(Dispatchers.IO) {
            val keyId = currentKeyId() ?: run {
                makeKey(challenge = null, preferStrongBox = false)
                currentKeyId() ?: refuse("the key store did not keep the chip key")
            }
            JSONObject().put("format", FORMAT).put("keyId", keyId).toString()
        }
    }

    /**
     * `chipAttest(challenge)` at bind, `challenge` the 32 bytes the client derives from the
     * server's bind challenge (PROTOCOL.md §2), base64url. The first time (no attested key):
     * makes an EC P-256 signing key for SHA-256 with `setAttestationChallenge(challenge)`, in
     * StrongBox where the phone has one (the TEE on `StrongBoxUnavailableException`), and
     * returns `{format, keyId, certificateChain}`, the chain base64url DER, leaf first, as
     * Keystore gives it. Later calls return `{format, keyId}` only: a key is attested once,
     * and an already bound key re-proves the number (after a SIM change) without attestation.
     * Kit: `bind.ceremony` (the attestation honours the challenge; the deployment checks it).
     */
    internal suspend fun chipAttest(challenge: ByteArray): String = chip.withLock {
        withContext(Dispatchers.IO) {
            if (challenge.size != 32) refuse("an attestation challenge is 32 bytes")
            val current = currentKeyId()
            if (current != null && current == prefs.getString(KEY_ATTESTED, null)) {
                return@withContext JSONObject().put("format", FORMAT).put("keyId", current).toString()
            }
            if (keyStore.containsAlias(ALIAS)) keyStore.deleteEntry(ALIAS) // the provisional key
            makeKey(challenge, preferStrongBox = true)
            val keyId = currentKeyId() ?: refuse("the key store did not keep the chip key")
            val chain = keyStore.getCertificateChain(ALIAS) ?: refuse("the chip key has no attestation chain")
            commit { putString(KEY_ATTESTED, keyId) }
            JSONObject()
                .put("format", FORMAT)
                .put("keyId", keyId)
                .put("certificateChain", JSONArray(chain.map { b64u(it.encoded) }))
                .toString()
        }
    }

    /**
     * `simInfo()` → JSON of the subscription that carries the number, with only the fields
     * this app can read (never an empty string): `subscriptionId`, `slotIndex`, `cardId`
     * (left out when unsupported or uninitialized), `portIndex` (0 before Android 13),
     * `embedded`, `mcc` and `mnc` (both or neither); with carrier privileges also `iccid`,
     * `imsi` and, for an eSIM, `eid`; `msisdn` with READ_PHONE_NUMBERS or privileges. No active
     * subscription: `{}`, and the deployment decides. [chipSign] compares the transcript with
     * exactly this reading. Kit: `simInfo.reply`.
     */
    internal suspend fun simInfo(): String = withContext(Dispatchers.IO) { readSim().toJson() }

    /**
     * `nextCounter()` → the chip counter advanced by one, as a decimal string. Persisted before
     * it is handed out, strictly increasing, never reset (not even by [resetChip]), at most
     * 2^53 − 1; the deployment refuses any counter not above the last it saw (`counter_replayed`).
     * It is not secret, so it is not encrypted: what matters is that it only goes up. The
     * value is remembered for exactly one [chipSign] call. Kit: `counter.increasing`.
     */
    internal suspend fun nextCounter(): String = chip.withLock {
        withContext(Dispatchers.IO) {
            val next = prefs.getLong(KEY_COUNTER, 0L) + 1
            if (next > MAX_COUNTER) refuse("the chip counter is spent")
            commit { putLong(KEY_COUNTER, next) }
            issuedCounter = next
            next.toString()
        }
    }

    /**
     * `chipSign(transcript)` → ECDSA P-256 with SHA-256 over exactly the transcript bytes, by
     * the attested key, as 64 bytes `r ‖ s` base64url (Keystore's DER signature converted).
     * Before signing, parses the transcript (PROTOCOL.md §3: u32-length-prefixed fields, the
     * version, the nested SIM block of eleven fields, the counter as the last 8 bytes
     * big-endian, nothing after) and refuses (throws) unless: it names this chip's key id and
     * carries no chip or SIM key; its audience is the pinned one (when pinned); its counter is
     * the one [nextCounter] handed out last, used once; and its SIM block equals the block
     * built from what the phone reports now. Kit: `bind.ceremony`, `verify.ceremony`,
     * `unbind.ceremony`, `chipSign.refuses-stale-counter`, `chipSign.refuses-garbage`,
     * `errors.mapped`.
     */
    internal suspend fun chipSign(transcript: ByteArray): String = chip.withLock {
        withContext(Dispatchers.IO) {
            val expectedCounter = issuedCounter
            issuedCounter = null // a counter is good for one signing attempt, whatever happens next
            val t = Transcript.parse(transcript)
            val keyId = currentKeyId() ?: refuse("no chip key yet: bind first")
            if (keyId != prefs.getString(KEY_ATTESTED, null)) refuse("the chip key is not attested yet: bind first")
            if (t.chipSerial != keyId) refuse("the transcript names another chip")
            if (t.chipKey.isNotEmpty()) refuse("an android-key transcript carries no chip key")
            if (t.simKey.isNotEmpty()) refuse("this phone's SIM has no key of its own")
            pins.audience?.let { if (t.audience != it) refuse("the transcript is for another deployment") }
            if (expectedCounter == null || t.counter != expectedCounter) {
                refuse("the transcript's counter is not the one nextCounter just handed out")
            }
            if (!t.simBlock.contentEquals(readSim().block())) refuse("the transcript's SIM is not the SIM in this phone")
            val key = keyStore.getKey(ALIAS, null) as? PrivateKey ?: refuse("the chip key is gone")
            val der = Signature.getInstance("SHA256withECDSA").run {
                initSign(key)
                update(transcript)
                sign()
            }
            b64u(derToRaw(der))
        }
    }

    /**
     * `sendNumberProof(token)` (`device_sms`): texts `"{token} links this number to your phone
     * in {appName}."` to [Pins.inboundNumber], from the subscription that carries the number
     * (`SmsManager` for that subscription id), and resolves once the network took it (the
     * sent broadcast's `RESULT_OK`). Refuses anything that is not exactly `SB-` and 10 of
     * `0-9A-HJKMNP-TV-Z` before anything is sent: neither the number nor the text ever comes
     * from JavaScript. Kit: `sendNumberProof.token-only`; `bind.ceremony` when the kit binds by
     * `device_sms` (the deployment must receive the text: see hosts/README.md).
     */
    @SuppressLint("MissingPermission") // checked below
    internal suspend fun sendNumberProof(token: String): String {
        if (!TOKEN.matches(token)) refuse("not a SimBind token")
        if (!granted(Manifest.permission.SEND_SMS)) refuse("SEND_SMS is not granted")
        if (!granted(Manifest.permission.READ_PHONE_STATE)) refuse("READ_PHONE_STATE is not granted")
        val text = "$token links this number to your phone in ${pins.appName}."
        val subscriptionId = withContext(Dispatchers.IO) { subscriptionId() }
        val sms = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            activity.getSystemService(SmsManager::class.java).createForSubscriptionId(subscriptionId)
        } else {
            @Suppress("DEPRECATION")
            SmsManager.getSmsManagerForSubscriptionId(subscriptionId)
        }
        val parts = sms.divideMessage(text)
        awaitSent(parts.size) { sent ->
            if (parts.size == 1) {
                sms.sendTextMessage(pins.inboundNumber, null, text, sent.single(), null)
            } else {
                sms.sendMultipartTextMessage(pins.inboundNumber, null, parts, ArrayList(sent), null)
            }
        }
        return "sent"
    }

    /**
     * `firebasePnvToken(nonce)` (`firebase_pnv`): Firebase Phone Number Verification's custom
     * flow for `nonce` (43 base64url characters, PROTOCOL.md §12): `getDigitalCredentialPayload`,
     * Credential Manager's digital-credential request (TS.43 with the carrier, over the SIM),
     * then `exchangeCredentialResponseForPhoneNumber`, returning the token (a JWT). Throws where
     * Firebase cannot help (unsupported carrier, Android version, SIM state), so the app starts
     * an `otp` or `device_sms` registration instead. Never caches or logs a token. API names as
     * in Firebase's documentation of the custom flow (firebase-pnv 16.x). No kit check: the kit
     * proves the number by `device_sms` or `otp`.
     */
    @OptIn(ExperimentalDigitalCredentialApi::class)
    internal suspend fun firebasePnvToken(nonce: String): String {
        if (!NONCE.matches(nonce)) refuse("a Firebase PNV nonce is 43 base64url characters")
        val fpnv = FirebasePhoneNumberVerification.getInstance(activity)
        val slot = withContext(Dispatchers.IO) { readSim().slotIndex }
        val support = fpnv.getVerificationSupportInfo().await()
        if (support.none { it.isSupported && (slot == null || it.simSlot == slot) }) {
            refuse("Firebase PNV cannot verify this SIM (carrier, Android version or SIM state)")
        }
        val payload = fpnv.getDigitalCredentialPayload(nonce).await()
        val response = withContext(Dispatchers.Main) {
            CredentialManager.create(activity).getCredential(
                activity,
                GetCredentialRequest(listOf(GetDigitalCredentialOption(requestJson = payload))),
            )
        }
        val credential = response.credential as? DigitalCredential ?: refuse("Credential Manager gave no digital credential")
        val result = fpnv.exchangeCredentialResponseForPhoneNumber(credential.credentialJson).await()
        if (result.nonce != nonce) refuse("Firebase answered for another nonce")
        return result.token
    }

    /**
     * `openOverCellular(url)` (`camara_nv`): opens the operator's authorization URL over mobile
     * data only (`requestNetwork` with TRANSPORT_CELLULAR and NET_CAPABILITY_INTERNET, then
     * `network.openConnection` per hop) and follows each redirect itself on that network, to
     * the worker's callback, resolving with the last answer as `{"status":…,"body":…}`. Never
     * falls back to Wi-Fi (no mobile data: it throws); no cookies of the WebView, no cache, no
     * UI; refuses a redirect from https to http. The first URL must be https (http only in a
     * build pinned to an http origin, i.e. dev) and on [Pins.operatorHosts] when set. No kit
     * check: the kit proves the number by `device_sms` or `otp`.
     */
    internal suspend fun openOverCellular(url: String): String {
        var current = runCatching { URL(url) }.getOrNull() ?: refuse("not a URL")
        val devOrigin = pinnedOrigin.scheme == "http"
        if (current.protocol != "https" && !(devOrigin && current.protocol == "http")) refuse("the operator's URL must be https")
        if (pins.operatorHosts.isNotEmpty() && current.host.lowercase() !in pins.operatorHosts) refuse("not an operator this app talks to")
        val connectivity = activity.getSystemService(ConnectivityManager::class.java)
        val (network, callback) = cellularNetwork(connectivity)
        try {
            return withContext(Dispatchers.IO) {
                repeat(MAX_HOPS) {
                    val connection = network.openConnection(current) as HttpURLConnection
                    try {
                        connection.instanceFollowRedirects = false
                        connection.useCaches = false
                        connection.connectTimeout = 15_000
                        connection.readTimeout = 15_000
                        connection.setRequestProperty("Accept", "application/json")
                        val status = connection.responseCode
                        val location = connection.getHeaderField("Location")
                        if (status in REDIRECTS && location != null) {
                            val next = URL(current, location)
                            if (next.protocol !in setOf("https", "http")) refuse("refused a redirect to another scheme")
                            if (current.protocol == "https" && next.protocol != "https") refuse("refused a redirect from https to http")
                            current = next
                        } else {
                            val stream = if (status >= 400) connection.errorStream else connection.inputStream
                            val body = stream?.use { readCapped(it) } ?: ""
                            return@withContext JSONObject().put("status", status).put("body", body).toString()
                        }
                    } finally {
                        connection.disconnect()
                    }
                }
                refuse("too many redirects")
            }
        } finally {
            connectivity.unregisterNetworkCallback(callback)
        }
    }

    // ---- Plumbing ----

    /** One message from the shim: `{id, method, args}`; the reply is `{id, value}` or `{id, error}`. */
    @MainThread
    private fun onPostMessage(message: WebMessageCompat, sourceOrigin: Uri, isMainFrame: Boolean, replyProxy: JavaScriptReplyProxy) {
        val call = runCatching { JSONObject(message.data ?: "") }.getOrNull() ?: return
        val id = call.optLong("id", -1L)
        fun reply(value: String?, error: String?) {
            val answer = JSONObject().put("id", id)
            if (error != null) answer.put("error", error) else answer.put("value", value)
            replyProxy.postMessage(answer.toString()) // on the UI thread, as JavaScriptReplyProxy requires
        }
        if (!isMainFrame || !isPinned(sourceOrigin)) {
            reply(null, "refused: the SimBind bridge answers the main frame of ${pins.origin} only")
            return
        }
        val method = call.optString("method")
        val args = call.optJSONArray("args")?.let { a -> List(a.length()) { a.optString(it) } } ?: emptyList()
        activity.lifecycleScope.launch {
            try {
                reply(dispatch(method, args), null)
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                reply(null, e.message ?: e.javaClass.simpleName)
            }
        }
    }

    private suspend fun dispatch(method: String, args: List<String>): String = when (method) {
        "chipInfo" -> chipInfo()
        "chipAttest" -> chipAttest(unb64u(args.singleOrNull() ?: refuse("chipAttest takes the challenge")))
        "simInfo" -> simInfo()
        "nextCounter" -> nextCounter()
        "chipSign" -> chipSign(unb64u(args.singleOrNull() ?: refuse("chipSign takes the transcript")))
        "sendNumberProof" -> sendNumberProof(args.singleOrNull() ?: refuse("sendNumberProof takes the token"))
        "firebasePnvToken" -> firebasePnvToken(args.singleOrNull() ?: refuse("firebasePnvToken takes the nonce"))
        "openOverCellular" -> openOverCellular(args.singleOrNull() ?: refuse("openOverCellular takes the URL"))
        else -> refuse("no bridge method $method")
    }

    private fun isPinned(origin: Uri): Boolean =
        origin.scheme.equals(pinnedOrigin.scheme, ignoreCase = true) &&
            origin.host.equals(pinnedOrigin.host, ignoreCase = true) &&
            portOf(origin) == portOf(pinnedOrigin)

    private fun portOf(uri: Uri): Int = when {
        uri.port != -1 -> uri.port
        uri.scheme.equals("https", ignoreCase = true) -> 443
        else -> 80
    }

    /**
     * The page's `window.SimBindNative`, built at document start in the main frame only, over
     * the listener's object (which it also tries to remove from `window`, in every frame).
     */
    private fun shim(): String = """
        (() => {
          const port = window.$PORT_NAME;
          try { delete window.$PORT_NAME; } catch (e) {}
          if (!port || window.top !== window) return;
          const pending = new Map();
          let last = 0;
          port.onmessage = (event) => {
            let answer;
            try { answer = JSON.parse(event.data); } catch (e) { return; }
            const call = pending.get(answer.id);
            if (!call) return;
            pending.delete(answer.id);
            if (typeof answer.error === "string") call.reject(new Error(answer.error));
            else call.resolve(answer.value);
          };
          const invoke = (method, args) => new Promise((resolve, reject) => {
            const id = ++last;
            pending.set(id, { resolve, reject });
            port.postMessage(JSON.stringify({ id, method, args: args.map(String) }));
          });
          const bridge = {};
          for (const method of ${JSONArray(METHODS)}) bridge[method] = (...args) => invoke(method, args);
          Object.defineProperty(window, ${JSONObject.quote(pins.objectName)}, { value: Object.freeze(bridge) });
        })();
    """.trimIndent()

    private fun makeKey(challenge: ByteArray?, preferStrongBox: Boolean) {
        fun spec(strongBox: Boolean): KeyGenParameterSpec =
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_SIGN)
                .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                .setDigests(KeyProperties.DIGEST_SHA256)
                .setIsStrongBoxBacked(strongBox)
                .apply { if (challenge != null) setAttestationChallenge(challenge) }
                .build()
        val generator = KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, ANDROID_KEYSTORE)
        val strongBox = preferStrongBox &&
            activity.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)
        try {
            generator.initialize(spec(strongBox))
            generator.generateKeyPair()
        } catch (e: StrongBoxUnavailableException) {
            generator.initialize(spec(false))
            generator.generateKeyPair()
        }
    }

    /** `b64u(SHA-256(0x04 ‖ X ‖ Y))` of the chip key, or null when there is none. */
    private fun currentKeyId(): String? {
        val key = keyStore.getCertificate(ALIAS)?.publicKey as? ECPublicKey ?: return null
        val point = byteArrayOf(0x04) + fixed32(key.w.affineX) + fixed32(key.w.affineY)
        return b64u(MessageDigest.getInstance("SHA-256").digest(point))
    }

    /** The subscription that carries the number: the app's choice while active, else the default SMS one, else the only one. */
    @SuppressLint("MissingPermission") // callers check READ_PHONE_STATE
    private fun subscriptionId(): Int {
        val subscriptions = activity.getSystemService(SubscriptionManager::class.java)
        val chosen = prefs.getInt(KEY_SUBSCRIPTION, SubscriptionManager.INVALID_SUBSCRIPTION_ID)
        if (chosen != SubscriptionManager.INVALID_SUBSCRIPTION_ID && subscriptions.getActiveSubscriptionInfo(chosen) != null) return chosen
        val sms = SubscriptionManager.getDefaultSmsSubscriptionId()
        if (sms != SubscriptionManager.INVALID_SUBSCRIPTION_ID) return sms
        return subscriptions.activeSubscriptionInfoList?.singleOrNull()?.subscriptionId
            ?: refuse("no SIM chosen for the number: the app must let the user pick one")
    }

    @SuppressLint("MissingPermission", "HardwareIds") // READ_PHONE_STATE checked here; privileged reads gated on privileges
    private fun readSim(): SimReading {
        if (!granted(Manifest.permission.READ_PHONE_STATE)) refuse("READ_PHONE_STATE is not granted")
        val subscriptions = activity.getSystemService(SubscriptionManager::class.java)
        val info = subscriptions.getActiveSubscriptionInfo(subscriptionId()) ?: return SimReading()
        val subId = info.subscriptionId
        val telephony = activity.getSystemService(TelephonyManager::class.java).createForSubscriptionId(subId)
        val privileged = telephony.hasCarrierPrivileges()
        val cardId = info.cardId.takeIf { it >= 0 } // UNSUPPORTED_CARD_ID and UNINITIALIZED_CARD_ID are negative
        val mcc = info.mccString?.takeIf { it.isNotEmpty() }
        val mnc = info.mncString?.takeIf { it.isNotEmpty() }
        val network = if (mcc != null && mnc != null) mcc to mnc else null // both or neither
        val number = if (privileged || granted(Manifest.permission.READ_PHONE_NUMBERS)) {
            runCatching {
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                    subscriptions.getPhoneNumber(subId)
                } else {
                    @Suppress("DEPRECATION")
                    telephony.line1Number
                }
            }.getOrNull()
        } else {
            null
        }
        return SimReading(
            msisdn = number?.takeIf { E164.matches(it) },
            // A 19-digit ICCID can come back padded with the BCD filler 'F'.
            iccid = if (privileged) runCatching { info.iccId }.getOrNull()?.trimEnd('F', 'f')?.takeIf { ICCID.matches(it) } else null,
            imsi = if (privileged) runCatching { telephony.subscriberId }.getOrNull()?.takeIf { IMSI.matches(it) } else null,
            eid = if (privileged && info.isEmbedded) eidOf(cardId) else null,
            subscriptionId = subId,
            slotIndex = info.simSlotIndex.takeIf { it in 0..15 },
            cardId = cardId,
            portIndex = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) info.portIndex.takeIf { it in 0..15 } else 0,
            embedded = info.isEmbedded,
            mcc = network?.first,
            mnc = network?.second,
        )
    }

    /** The eUICC's EID (carrier privileges): of the card holding the subscription where Android can say which. */
    private fun eidOf(cardId: Int?): String? {
        val euicc = activity.getSystemService(EuiccManager::class.java) ?: return null
        val card = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R && cardId != null) euicc.createForCardId(cardId) else euicc
        return runCatching { if (card.isEnabled) card.eid else null }.getOrNull()?.takeIf { EID.matches(it) }
    }

    private suspend fun cellularNetwork(connectivity: ConnectivityManager): Pair<Network, ConnectivityManager.NetworkCallback> =
        suspendCancellableCoroutine { continuation ->
            val request = NetworkRequest.Builder()
                .addTransportType(NetworkCapabilities.TRANSPORT_CELLULAR)
                .addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
                .build()
            val callback = object : ConnectivityManager.NetworkCallback() {
                override fun onAvailable(network: Network) {
                    if (continuation.isActive) continuation.resume(network to this)
                }

                override fun onUnavailable() {
                    if (continuation.isActive) {
                        continuation.resumeWithException(BridgeRefusal("no mobile data: the operator verifies over the SIM's own data connection only"))
                    }
                }
            }
            connectivity.requestNetwork(request, callback, 10_000) // onUnavailable after 10 s
            continuation.invokeOnCancellation { runCatching { connectivity.unregisterNetworkCallback(callback) } }
        }

    /** Sends through `send` with one sent-PendingIntent per part; resumes when the network took every part. */
    private suspend fun awaitSent(parts: Int, send: (List<PendingIntent>) -> Unit) = withTimeout(60_000) {
        suspendCancellableCoroutine { continuation ->
            val action = "${activity.packageName}.SIMBIND_SMS_SENT.${UUID.randomUUID()}"
            var remaining = parts
            val receiver = object : BroadcastReceiver() {
                override fun onReceive(context: Context, intent: Intent) {
                    if (!continuation.isActive) return
                    if (resultCode != Activity.RESULT_OK) {
                        runCatching { activity.unregisterReceiver(this) }
                        continuation.resumeWithException(BridgeRefusal("the network did not take the text (error $resultCode)"))
                    } else if (--remaining == 0) {
                        runCatching { activity.unregisterReceiver(this) }
                        continuation.resume(Unit)
                    }
                }
            }
            ContextCompat.registerReceiver(activity, receiver, IntentFilter(action), ContextCompat.RECEIVER_NOT_EXPORTED)
            continuation.invokeOnCancellation { runCatching { activity.unregisterReceiver(receiver) } }
            val intents = List(parts) { i ->
                PendingIntent.getBroadcast(
                    activity, i, Intent(action).setPackage(activity.packageName),
                    PendingIntent.FLAG_ONE_SHOT or PendingIntent.FLAG_IMMUTABLE,
                )
            }
            try {
                send(intents)
            } catch (e: Exception) {
                runCatching { activity.unregisterReceiver(receiver) }
                if (continuation.isActive) continuation.resumeWithException(e)
            }
        }
    }

    private fun granted(permission: String): Boolean =
        ContextCompat.checkSelfPermission(activity, permission) == PackageManager.PERMISSION_GRANTED

    /** Writes synchronously: a counter is on disk before it is handed out. */
    private fun commit(change: SharedPreferences.Editor.() -> Unit) {
        val editor = prefs.edit()
        editor.change()
        if (!editor.commit()) refuse("could not save the bridge's state")
    }

    private companion object {
        const val FORMAT = "android-key"
        const val ALIAS = "simbind.chip"
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
        const val PREFS = "simbind.bridge"
        const val KEY_COUNTER = "counter"
        const val KEY_ATTESTED = "attestedKeyId"
        const val KEY_SUBSCRIPTION = "subscriptionId"
        /** The WebMessageListener's own object; pages use [Pins.objectName], built by the shim. */
        const val PORT_NAME = "__simbindPort"
        const val MAX_HOPS = 10
        val METHODS = listOf(
            "chipInfo", "chipAttest", "simInfo", "nextCounter", "chipSign",
            "sendNumberProof", "firebasePnvToken", "openOverCellular",
        )
        val REDIRECTS = setOf(301, 302, 303, 307, 308)
        val TOKEN = Regex("SB-[0-9A-HJKMNP-TV-Z]{10}")
        val NONCE = Regex("[A-Za-z0-9_-]{43}")
        val ICCID = Regex("89[0-9]{16,18}")
        val IMSI = Regex("[0-9]{6,15}")
        val EID = Regex("89[0-9]{30}")

        fun readCapped(stream: InputStream, limit: Int = 64 * 1024): String {
            val out = ByteArrayOutputStream()
            val buffer = ByteArray(8192)
            while (true) {
                val n = stream.read(buffer)
                if (n < 0) break
                out.write(buffer, 0, n)
                if (out.size() > limit) refuse("the answer is too large")
            }
            return out.toByteArray().toString(Charsets.UTF_8)
        }
    }
}

/** A refusal: thrown, so the page's promise rejects and the client reports `bridge_failed`. */
class BridgeRefusal(message: String) : Exception(message)

private fun refuse(why: String): Nothing = throw BridgeRefusal(why)

private const val MAX_COUNTER = 9_007_199_254_740_991L // 2^53 − 1: JavaScript numbers carry it exactly
private val E164 = Regex("\\+[1-9][0-9]{6,14}")

/** What the phone reports of the subscription; absent fields are null, never empty. */
private class SimReading(
    val msisdn: String? = null,
    val iccid: String? = null,
    val imsi: String? = null,
    val eid: String? = null,
    val subscriptionId: Int? = null,
    val slotIndex: Int? = null,
    val cardId: Int? = null,
    val portIndex: Int? = null,
    val embedded: Boolean? = null,
    val mcc: String? = null,
    val mnc: String? = null,
) {
    /** The bridge's `simInfo()` reply (camelCase; `putOpt` leaves out nulls). */
    fun toJson(): String = JSONObject()
        .putOpt("msisdn", msisdn).putOpt("iccid", iccid).putOpt("imsi", imsi).putOpt("eid", eid)
        .putOpt("subscriptionId", subscriptionId).putOpt("slotIndex", slotIndex).putOpt("cardId", cardId)
        .putOpt("portIndex", portIndex).putOpt("embedded", embedded).putOpt("mcc", mcc).putOpt("mnc", mnc)
        .toString()

    /**
     * The SIM block (PROTOCOL.md §3, `core::transcript::sim_block`): `field(value)` for msisdn,
     * ICCID, IMSI, EID, subscription id, slot, card, port, embedded, MCC, MNC in that order;
     * integers in decimal, embedded `1`/`0`, an empty field for each absent one.
     */
    fun block(): ByteArray = listOf(
        msisdn, iccid, imsi, eid,
        subscriptionId?.toString(), slotIndex?.toString(), cardId?.toString(), portIndex?.toString(),
        embedded?.let { if (it) "1" else "0" }, mcc, mnc,
    ).fold(ByteArray(0)) { out, value -> out + field((value ?: "").toByteArray(Charsets.US_ASCII)) }
}

/** `u32be(len(b)) ‖ b`. */
private fun field(bytes: ByteArray): ByteArray {
    val n = bytes.size
    return byteArrayOf((n ushr 24).toByte(), (n ushr 16).toByte(), (n ushr 8).toByte(), n.toByte()) + bytes
}

/**
 * A transcript read back into the fields a host checks (PROTOCOL.md §3):
 * `field("SIMBIND-TRANSCRIPT") ‖ u16be(2) ‖ field(ceremony) ‖ field(challenge) ‖ field(audience)
 * ‖ field(subject) ‖ field(transaction) ‖ field(chip serial or key id) ‖ field(chip key)
 * ‖ field(SIM block) ‖ field(SIM key) ‖ u64be(counter)`. Anything else (another domain or
 * version, a length past the end, a SIM block of other than eleven fields, trailing bytes,
 * a counter above 2^53 − 1) is refused, as `core::transcript::decode` would.
 */
private class Transcript(
    val ceremony: String,
    val audience: String,
    val subject: String,
    val chipSerial: String,
    val chipKey: ByteArray,
    val simBlock: ByteArray,
    val simKey: ByteArray,
    val counter: Long,
) {
    companion object {
        private val DOMAIN = "SIMBIND-TRANSCRIPT".toByteArray(Charsets.US_ASCII)

        fun parse(bytes: ByteArray): Transcript {
            val r = Reader(bytes)
            if (!r.field().contentEquals(DOMAIN)) refuse("not a SimBind transcript")
            if (r.u16() != 2) refuse("not a version-2 transcript")
            val ceremony = r.text()
            if (ceremony !in setOf("bind", "verify", "unbind")) refuse("not a SimBind ceremony")
            r.field() // the server's challenge: opaque to the host
            val audience = r.text()
            val subject = r.text()
            r.field() // the relying party's transaction: opaque to the host
            val serial = r.text()
            val chipKey = r.field()
            val simBlock = r.field()
            val simKey = r.field()
            val counter = r.u64()
            if (!r.atEnd) refuse("bytes after the transcript's counter")
            if (counter !in 0..MAX_COUNTER) refuse("the transcript's counter is out of range")
            val sim = Reader(simBlock)
            repeat(11) { sim.field() }
            if (!sim.atEnd) refuse("not a SIM block of eleven fields")
            return Transcript(ceremony, audience, subject, serial, chipKey, simBlock, simKey, counter)
        }
    }

    private class Reader(private val bytes: ByteArray) {
        private var at = 0
        val atEnd: Boolean get() = at == bytes.size

        fun take(n: Int): ByteArray {
            if (n < 0 || n > bytes.size - at) refuse("not a SimBind transcript (truncated)")
            return bytes.copyOfRange(at, at + n).also { at += n }
        }

        fun u16(): Int = take(2).fold(0) { acc, b -> (acc shl 8) or (b.toInt() and 0xff) }
        fun u64(): Long = take(8).fold(0L) { acc, b -> (acc shl 8) or (b.toLong() and 0xff) } // top bit set: negative, refused above
        fun field(): ByteArray {
            val n = take(4).fold(0L) { acc, b -> (acc shl 8) or (b.toLong() and 0xff) }
            if (n > bytes.size - at) refuse("not a SimBind transcript (a length past its end)")
            return take(n.toInt())
        }
        fun text(): String = field().toString(Charsets.UTF_8)
    }
}

/** Keystore's `SEQUENCE { INTEGER r, INTEGER s }` → 64 bytes `r ‖ s` (PROTOCOL.md §2: DER is not accepted). */
private fun derToRaw(der: ByteArray): ByteArray {
    var at = 0
    fun byte(): Int = der.getOrNull(at++)?.toInt()?.and(0xff) ?: refuse("malformed signature")
    if (byte() != 0x30) refuse("malformed signature")
    var length = byte()
    if (length == 0x81) length = byte() else if (length > 0x80) refuse("malformed signature")
    if (length != der.size - at) refuse("malformed signature")
    fun integer(): ByteArray {
        if (byte() != 0x02) refuse("malformed signature")
        val n = byte()
        if (n !in 1..33 || at + n > der.size) refuse("malformed signature")
        val value = der.copyOfRange(at, at + n).dropWhile { it == 0.toByte() }.toByteArray()
        at += n
        if (value.size > 32) refuse("malformed signature")
        return ByteArray(32 - value.size) + value
    }
    val r = integer()
    val s = integer()
    if (at != der.size) refuse("malformed signature")
    return r + s
}

/** A P-256 coordinate as exactly 32 big-endian bytes. */
private fun fixed32(n: BigInteger): ByteArray {
    val bytes = n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
    if (bytes.size > 32) refuse("not a P-256 coordinate")
    return ByteArray(32 - bytes.size) + bytes
}

private fun b64u(bytes: ByteArray): String = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)

/** Strict base64url (PROTOCOL.md notation): no padding, URL-safe alphabet, canonical trailing bits. */
private fun unb64u(text: String): ByteArray {
    if (!Regex("[A-Za-z0-9_-]*").matches(text)) refuse("not base64url")
    val bytes = runCatching { Base64.getUrlDecoder().decode(text) }.getOrNull() ?: refuse("not base64url")
    if (b64u(bytes) != text) refuse("not canonical base64url")
    return bytes
}
