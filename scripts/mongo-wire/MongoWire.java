/*
 * Launcher of the embedded MongoDB-wire server (mongo-java-server) used by `make run` and the
 * tests. Production runs real MongoDB; this exists because no MongoDB server can be installed
 * from the registries our machines reach.
 *
 * Usage: java MongoWire --host 127.0.0.1 --port 27117 (--memory | --data DIR/wire.mv)
 *
 * What it adds to the library:
 *  - reports MongoDB 4.4 / wire version 9, the minimum pymongo 4.x accepts;
 *  - durability: H2's MVStore auto-commits only every second, so an acknowledged write could be
 *    lost by a crash of this process. Every command that changed the store is committed before
 *    its reply is sent, so whatever the client saw acknowledged survives `kill -9`;
 *  - `--memory` keeps everything in memory (H2's in-memory store): fast, for tests;
 *  - a clean stop on SIGTERM (shutdown hook) and one "ready" line on stdout once listening.
 */
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.AbstractMongoBackend;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

import java.util.List;

public final class MongoWire {

    /** pymongo 4.x refuses servers below wire version 9 (MongoDB 4.4). */
    static final MongoVersion MONGO_4_4 = new MongoVersion() {
        @Override public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
        @Override public int getWireVersion() { return 9; }
    };

    /** H2 backend that commits the MVStore before acknowledging any command that changed it. */
    static final class DurableH2Backend extends H2Backend {
        DurableH2Backend(String path) { super(path); }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            Document reply = super.handleCommand(channel, database, command, query);
            // commit() blocks on the store lock and stores every change made so far, so a write
            // that returned above is on disk (in the OS page cache) before the reply leaves.
            if (getMvStore().hasUnsavedChanges()) {
                commit();
            }
            return reply;
        }
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 27117;
        String data = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--data" -> data = args[++i];
                case "--memory" -> data = null;
                default -> {
                    System.err.println("unknown argument: " + args[i]);
                    System.exit(2);
                }
            }
        }
        AbstractMongoBackend backend = data == null ? H2Backend.inMemory() : new DurableH2Backend(data);
        backend.version(MONGO_4_4);
        MongoServer server = new MongoServer(backend);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-wire-shutdown"));
        server.bind(host, port);
        System.out.println("mongo-wire ready on " + host + ":" + port
                + (data == null ? " (memory)" : " (h2 " + data + ")"));
        System.out.flush();
        Thread.currentThread().join();
    }
}
