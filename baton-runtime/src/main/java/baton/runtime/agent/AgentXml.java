package baton.runtime.agent;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.ErrorHandler;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;

/**
 * The {@code <resource-agent>} documents agents print about themselves (fence agents'
 * {@code action=metadata}, OCF resource agents' {@code meta-data}), parsed safely: the
 * document comes from an executable Baton did not write.
 *
 * <p>DOCTYPEs are refused, so no entity is expanded (billion laughs) and nothing external is
 * fetched (XXE). The one exception is a declaration the caller names exactly: every OCF agent
 * starts with {@code <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">}, which only points at a
 * DTD nobody ships. That exact text is blanked out before parsing, and any other DOCTYPE
 * (another system id, an internal subset with entities) is still refused by the parser.
 */
public final class AgentXml {
    private AgentXml() {}

    /** A parsed document's {@code <resource-agent name=...>} root, or why there is none. */
    public sealed interface Parsed {
        record Root(Element element) implements Parsed {
            public Root {
                Objects.requireNonNull(element, "element");
            }
        }

        /** @param reason what is wrong with the document, starting with "metadata" */
        record Refused(String reason) implements Parsed {
            public Refused {
                Objects.requireNonNull(reason, "reason");
            }
        }
    }

    /**
     * Parses {@code xml} and checks that its root is {@code <resource-agent>} with a name.
     *
     * @param maxChars longer documents are refused unread
     * @param toleratedDoctype the one DOCTYPE declaration, to the letter, that is skipped
     *     rather than refused; empty to refuse all
     */
    public static Parsed parse(String xml, int maxChars, Optional<String> toleratedDoctype) {
        if (xml.length() > maxChars) {
            return new Parsed.Refused("metadata of " + xml.length() + " characters, more than the limit of " + maxChars);
        }
        String text = toleratedDoctype.map(doctype -> withoutDoctype(xml, doctype)).orElse(xml);
        Document document;
        try {
            DocumentBuilder builder = secureFactory().newDocumentBuilder();
            builder.setErrorHandler(THROW_ALL);
            document = builder.parse(new InputSource(new StringReader(text)));
        } catch (SAXException e) {
            return new Parsed.Refused("metadata is not well-formed XML (or has a DOCTYPE): " + e.getMessage());
        } catch (IOException | ParserConfigurationException e) {
            return new Parsed.Refused("metadata could not be parsed: " + e);
        }
        Element root = document.getDocumentElement();
        if (!root.getTagName().equals("resource-agent") || root.getAttribute("name").isEmpty()) {
            return new Parsed.Refused("metadata is not a <resource-agent name=...> document (root <"
                    + root.getTagName() + ">)");
        }
        return new Parsed.Root(root);
    }

    /**
     * {@code xml} with the first DOCTYPE declaration blanked (same length, so that the parser's
     * line and column numbers stay true) when it is exactly {@code doctype}; else unchanged.
     */
    static String withoutDoctype(String xml, String doctype) {
        int at = xml.indexOf("<!DOCTYPE");
        if (at < 0 || !xml.startsWith(doctype, at)) {
            return xml;
        }
        return xml.substring(0, at) + " ".repeat(doctype.length()) + xml.substring(at + doctype.length());
    }

    /** The first child element of {@code parent} named {@code tag}, or null (also for a null parent). */
    public static Element first(Element parent, String tag) {
        List<Element> found = children(parent, tag);
        return found.isEmpty() ? null : found.get(0);
    }

    /** The child elements of {@code parent} named {@code tag}, in order; none for a null parent. */
    public static List<Element> children(Element parent, String tag) {
        List<Element> found = new ArrayList<>();
        if (parent == null) {
            return found;
        }
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i).getNodeType() == Node.ELEMENT_NODE && ((Element) nodes.item(i)).getTagName().equals(tag)) {
                found.add((Element) nodes.item(i));
            }
        }
        return found;
    }

    public static Optional<String> attribute(Element element, String name) {
        return element.hasAttribute(name) ? Optional.of(element.getAttribute(name)) : Optional.empty();
    }

    /** The English (or unmarked) {@code <shortdesc>} child of {@code element}, stripped; empty when none. */
    public static String englishShortDescription(Element element) {
        for (Element description : children(element, "shortdesc")) {
            String lang = description.getAttribute("lang");
            if (lang.isEmpty() || lang.equals("en")) {
                return description.getTextContent().strip();
            }
        }
        return "";
    }

    private static DocumentBuilderFactory secureFactory() throws ParserConfigurationException {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        // No DOCTYPE at all: no entity expansion (billion laughs), no external entities (XXE).
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
        factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
        factory.setXIncludeAware(false);
        factory.setExpandEntityReferences(false);
        factory.setNamespaceAware(false);
        return factory;
    }

    /** The JDK's parser prints "[Fatal Error]" to stderr unless told otherwise; errors are values here. */
    private static final ErrorHandler THROW_ALL = new ErrorHandler() {
        @Override
        public void warning(SAXParseException e) {
            // Warnings do not make the document unusable.
        }

        @Override
        public void error(SAXParseException e) throws SAXException {
            throw e;
        }

        @Override
        public void fatalError(SAXParseException e) throws SAXException {
            throw e;
        }
    };
}
