import FioPeer

final class Printer: WalletListener {
    func onEvent(event: WalletEvent) throws { print("event: \(event)") }
}

func quickstart(dbPath: String, privateKey: String, me: String, peer: String,
                chainId: String, node: String, relay: String) async throws -> SyncSummary {
    let wallet = try FioWallet.open(config: WalletConfig(
        databasePath: dbPath, privateKey: privateKey, fioAddress: me,
        chainId: chainId, chainNodes: [node], relay: relay))
    wallet.setListener(listener: Printer())
    _ = try await wallet.sync()                                          // creates and registers our inbox
    _ = try await wallet.openChannel(peer: peer, memo: "Hi from Swift")  // peer_new_com_request
    return try await wallet.sync()                                       // delivers it
}
