import Foundation
import NIOCore
import NIOPosix
import NIOWebSocket
import ProcessRunner
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

// One `kubectl exec` over WebSocket (remote command protocol v5 / v4): a process in the pod
// whose stdin, stdout and stderr are pipes, each a NIO pipe channel on the connection's own
// event loop, relayed to and from binary frames whose first byte is the channel
// (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize; v5: [255, n] closes channel n).
//
// Flow control both ways, without polling: the process's output is read only while the
// WebSocket channel is writable (its pipe channels stop reading otherwise, and the process
// blocks on a full pipe); client frames are read only while the process's stdin pipe accepts
// more. The session ends with the exit status on channel 3 once the process has exited and
// its stdout and stderr reached EOF, then a close frame (1000); the connection closes when
// the client answers it (or after `closeTimeout`). A client that goes away first gets its
// process group killed.

/// Frames of the remote command channel protocol.
enum ExecFrames {
    static let stdin: UInt8 = 0, stdout: UInt8 = 1, stderr: UInt8 = 2, status: UInt8 = 3, resize: UInt8 = 4
    /// v5: a data frame [255, channel] closes that channel (the client's stdin EOF).
    static let closeSignal: UInt8 = 255
    /// Largest payload per frame (client-go reads with 32 KiB buffers).
    static let maxPayload = 32 * 1024

    /// `{"metadata":{},"status":"Success"}` or the NonZeroExitCode Status, as the API server's
    /// stream translator writes them (k8s.io/apiserver/pkg/util/proxy).
    static func exitStatus(_ code: Int32) -> KctlJSON {
        if code == 0 { return ["metadata": [:], "status": "Success"] }
        return [
            "metadata": [:], "status": "Failure",
            "message": .string("command terminated with non-zero exit code: command terminated with exit code \(code)"),
            "reason": "NonZeroExitCode",
            "details": ["causes": [["reason": "ExitCode", "message": .string(String(code))]]],
        ]
    }

    /// An API error on the status channel (e.g. the container is not running).
    static func errorStatus(_ s: APIStatus) -> KctlJSON {
        var o: [String: KctlJSON] = [
            "metadata": [:], "status": "Failure", "message": .string(s.message), "reason": .string(s.reason), "code": .int(Int64(s.code)),
        ]
        if let d = s.details { o["details"] = d }
        return .object(o)
    }

    /// The exit code a runtime reports: the code, or 128 + signal.
    static func exitCode(_ t: Termination) -> Int32 {
        switch t {
        case .exited(let c): return c
        case .signaled(let s): return 128 + s
        default: return 1
        }
    }
}

/// Serves one exec session on an upgraded WebSocket channel. All state lives on the channel's
/// event loop; the pipe channels share that loop.
final class ExecWebSocketHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    static let closeTimeout: TimeAmount = .seconds(60)

    private let plan: ExecPlan
    private let v5: Bool
    private let label: String
    private var context: ChannelHandlerContext?

    private var child: Child?
    private var stdinChannel: Channel?
    private var stdinPending: [ByteBuffer] = []
    private var stdinCloseRequested = false
    private var stdinLastWrite: EventLoopFuture<Void>?
    private var outputChannels: [Channel] = []
    private var openOutputs = 0
    private var termination: Termination?
    private var outputPaused = false
    private var wsReadPaused = false

    private var finished = false
    private var closed = false

    init(plan: ExecPlan, subprotocol: String, label: String) {
        self.plan = plan
        self.v5 = subprotocol == ExecProtocol.v5
        self.label = label
    }

    // MARK: start

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
    }

    private var started = false

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        switch plan {
        case .refuse(let status):
            sendEstablished(stdout: true, stderr: true)
            finish(ExecFrames.errorStatus(status))
        case .cannotExecute(let text, let code, let stdout, let stderr):
            sendEstablished(stdout: stdout, stderr: stderr)
            if stderr || stdout {
                send(stderr ? ExecFrames.stderr : ExecFrames.stdout, Array(text.utf8))
            }
            finish(ExecFrames.exitStatus(code))
        case .run(let argv, let env, let stdin, let stdout, let stderr):
            sendEstablished(stdout: stdout, stderr: stderr)
            run(context, argv: argv, env: env, stdin: stdin, stdout: stdout, stderr: stderr)
        }
    }

    /// The translator's first frame: an empty message on the lowest writable channel.
    private func sendEstablished(stdout: Bool, stderr: Bool) {
        send(stdout ? ExecFrames.stdout : stderr ? ExecFrames.stderr : ExecFrames.status, [], flush: true)
    }

    private func run(_ context: ChannelHandlerContext, argv: [String], env: [String: String], stdin: Bool, stdout: Bool, stderr: Bool) {
        let spawned: (child: Child, pipes: Child.Pipes)
        do {
            spawned = try Child.spawnPiped(argv, environment: env, stdin: stdin, newProcessGroup: true, label: label)
        } catch {
            finish(ExecFrames.errorStatus(.internalError("error executing command in container: \(error)")))
            return
        }
        child = spawned.child
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)

        // Exit: one blocking waitid in a thread of its own (no polling), then back on the loop.
        let waited = spawned.child
        let thread = Thread {
            let t = waited.wait()
            loop.execute { bound.value.exited(t) }
        }
        thread.name = "exec-wait-\(waited.pid)"
        thread.start()

        let bootstrap = NIOPipeBootstrap(group: loop)
        func output(_ fd: Int32, _ id: UInt8, wanted: Bool) {
            openOutputs += 1
            bootstrap
                .channelOption(.autoRead, value: !outputPaused)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(PipeReadHandler(id: id, forward: wanted, session: bound))
                    }
                }
                .takingOwnershipOfDescriptor(input: fd)
                .assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(let channel): self.outputChannels.append(channel)
                    case .failure:
                        close(fd)
                        self.outputEnded()
                    }
                }
        }
        output(spawned.pipes.stdout, ExecFrames.stdout, wanted: stdout)
        output(spawned.pipes.stderr, ExecFrames.stderr, wanted: stderr)
        if let fd = spawned.pipes.stdin {
            bootstrap
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(PipeWriteHandler(session: bound))
                    }
                }
                .takingOwnershipOfDescriptor(output: fd)
                .assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(let channel):
                        self.stdinChannel = channel
                        let pending = self.stdinPending
                        self.stdinPending = []
                        for buffer in pending { self.writeStdin(buffer) }
                        if self.stdinCloseRequested { self.closeStdin() }
                    case .failure:
                        close(fd)
                    }
                }
        }
    }

    // MARK: process → client

    fileprivate func output(_ id: UInt8, _ buffer: ByteBuffer) {
        guard let context, !closed else { return }
        var buffer = buffer
        while buffer.readableBytes > 0 {
            var slice = buffer.readSlice(length: min(buffer.readableBytes, ExecFrames.maxPayload - 1))!
            var frame = context.channel.allocator.buffer(capacity: slice.readableBytes + 1)
            frame.writeInteger(id)
            frame.writeBuffer(&slice)
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: frame)), promise: nil)
        }
    }

    fileprivate func outputReadComplete() {
        guard let context, !closed else { return }
        context.flush()
        if !context.channel.isWritable { setOutputPaused(true) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { setOutputPaused(false) }
        context.fireChannelWritabilityChanged()
    }

    private func setOutputPaused(_ paused: Bool) {
        guard paused != outputPaused else { return }
        outputPaused = paused
        for channel in outputChannels where channel.isActive {
            try? channel.syncOptions?.setOption(.autoRead, value: !paused)
        }
    }

    fileprivate func outputEnded() {
        openOutputs -= 1
        finishIfDone()
    }

    fileprivate func exited(_ t: Termination) {
        termination = t
        finishIfDone()
    }

    private func finishIfDone() {
        guard let termination, openOutputs == 0 else { return }
        // The process is gone and its output drained: stdin can only fail from here on.
        stdinChannel?.close(promise: nil)
        finish(ExecFrames.exitStatus(ExecFrames.exitCode(termination)))
    }

    // MARK: client → process

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .binary, .text:
            var payload = frame.unmaskedData
            guard let id = payload.readInteger(as: UInt8.self) else { return }
            switch id {
            case ExecFrames.stdin:
                if payload.readableBytes > 0 { writeStdin(payload) }
            case ExecFrames.closeSignal where v5:
                if payload.readInteger(as: UInt8.self) == ExecFrames.stdin { closeStdin() }
            default:
                break  // resize (no tty here) and unknown channels are ignored, as the server does
            }
        case .ping:
            var data = frame.unmaskedData
            let pong = context.channel.allocator.buffer(buffer: data.readSlice(length: data.readableBytes)!)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: pong)), promise: nil)
        case .connectionClose:
            if finished {
                closeConnection(context)
            } else {
                // The client left before the command finished: answer the close, end the process.
                var data = context.channel.allocator.buffer(capacity: 2)
                data.write(webSocketErrorCode: .normalClosure)
                finished = true
                killProcess()
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
                    .assumeIsolated().whenComplete { _ in self.closeConnection(context) }
            }
        default:
            break
        }
    }

    private func writeStdin(_ buffer: ByteBuffer) {
        guard !stdinCloseRequested else { return }
        guard let channel = stdinChannel else {
            if case .run(_, _, true, _, _) = plan, termination == nil { stdinPending.append(buffer) }
            return
        }
        guard channel.isActive else { return }
        stdinLastWrite = channel.writeAndFlush(buffer)
        if !channel.isWritable { setWebSocketReadPaused(true) }
    }

    private func closeStdin() {
        stdinCloseRequested = true
        guard let channel = stdinChannel else { return }
        if let last = stdinLastWrite {
            last.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }

    fileprivate func stdinWritabilityChanged(_ writable: Bool) {
        setWebSocketReadPaused(!writable)
    }

    fileprivate func stdinClosed() {
        setWebSocketReadPaused(false)
    }

    private func setWebSocketReadPaused(_ paused: Bool) {
        guard paused != wsReadPaused, let context else { return }
        wsReadPaused = paused
        try? context.channel.syncOptions?.setOption(.autoRead, value: !paused)
    }

    // MARK: end

    private func send(_ id: UInt8, _ bytes: [UInt8], flush: Bool = false) {
        guard let context, context.channel.isActive else { return }
        var frame = context.channel.allocator.buffer(capacity: bytes.count + 1)
        frame.writeInteger(id)
        frame.writeBytes(bytes)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: frame)), promise: nil)
        if flush { context.flush() }
    }

    /// Status on channel 3, then the close frame; the connection closes when the client answers.
    private func finish(_ status: KctlJSON) {
        guard !finished, let context else { return }
        finished = true
        setWebSocketReadPaused(false)
        send(ExecFrames.status, Array(status.compact().utf8))
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: .normalClosure)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeTimeout) { [weak self] in
            guard let self, let context = self.context else { return }
            self.closeConnection(context)
        }
    }

    private func closeConnection(_ context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        context.close(promise: nil)
    }

    private func killProcess() {
        guard let child else { return }
        // The whole group: the command and whatever it started (sh -c, tar | ...).
        child.signalGroup(SIGKILL)
        for channel in outputChannels { channel.close(promise: nil) }
        stdinChannel?.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if termination == nil || openOutputs > 0 {
            killProcess()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A broken connection or a protocol error: the session is over.
        killProcess()
        closeConnection(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !closed { killProcess() }
        self.context = nil
    }
}

/// Reads one of the process's output pipes (stdout or stderr) into the session.
final class PipeReadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let id: UInt8
    private let forward: Bool
    private let session: NIOLoopBound<ExecWebSocketHandler>
    private var ended = false

    init(id: UInt8, forward: Bool, session: NIOLoopBound<ExecWebSocketHandler>) {
        self.id = id; self.forward = forward; self.session = session
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // An output the client did not ask for is drained and dropped, as the runtime does.
        if forward { session.value.output(id, unwrapInboundIn(data)) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if forward { session.value.outputReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !ended { ended = true; session.value.outputEnded() }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// The process's stdin pipe: tells the session when it can take more, or is gone.
final class PipeWriteHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let session: NIOLoopBound<ExecWebSocketHandler>

    init(session: NIOLoopBound<ExecWebSocketHandler>) { self.session = session }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        session.value.stdinWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.value.stdinClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // EPIPE: the process closed its stdin or exited; what the client still sends is dropped.
        context.close(promise: nil)
    }
}
